export function SilencesTab() {
  return null;
}
