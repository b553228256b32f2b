import { useEffect, useState } from 'react';
import { useServices } from '../app/services.js';

/**
 * The whole item behind a list row. List answers cut long fields to a preview and name them in
 * `truncated`; the item's own route (`path`) has them whole. Fetched when `wanted` (the row is
 * expanded and something was cut), once per path; null until then, so the row's preview shows meanwhile.
 */
export function useWholeItem<T>(path: string, wanted: boolean, pick: (body: never) => T): { item: T | null; problem: string | null } {
  const { api } = useServices();
  const [got, setGot] = useState<{ path: string; item: T | null; problem: string | null } | null>(null);
  const have = got?.path === path;
  useEffect(() => {
    if (!wanted || have) return;
    let live = true;
    api.get<never>(path).then(
      (body) => live && setGot({ path, item: pick(body), problem: null }),
      (err: unknown) => live && setGot({ path, item: null, problem: err instanceof Error ? err.message : String(err) }),
    );
    return () => {
      live = false;
    };
    // `pick` is left out on purpose: a plain accessor, new on every render.
  }, [api, path, wanted, have]);
  return have && got ? { item: got.item, problem: got.problem } : { item: null, problem: null };
}

/** Whether a list row had fields cut (`truncated` from the hub). */
export const isCut = (row: { truncated?: readonly string[] | undefined }): boolean => (row.truncated?.length ?? 0) > 0;
