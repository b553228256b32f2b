/**
 * A webhook URL as answers and logs show it: scheme, host and port only. Credentials
 * (`user:pass@`), the path, the query and the fragment are often the secret itself (a Slack
 * `/services/T…/B…/…` hook is its own password), so they are replaced by `…`. The full URL stays
 * stored and is what deliveries use; the id and name tell webhooks on one host apart.
 */
export function redactWebhookUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return '…';
  }
  const hidden = url.username !== '' || url.password !== '' || url.pathname !== '/' || url.search !== '' || url.hash !== '';
  return `${url.protocol}//${url.host}/${hidden ? '…' : ''}`;
}

/** A stored webhook with its URL redacted, for API answers. */
export function redactedWebhook<T extends { url: string }>(webhook: T): T {
  return { ...webhook, url: redactWebhookUrl(webhook.url) };
}
