/**
 * A one-file ustar archive (POSIX 1003.1-1988 header, mode 0644, uid/gid 0, mtime 0, two zero
 * blocks at the end): the layer of the tiny images the demo pushes and the README quick start
 * ships. Fixed header fields make it deterministic, so the same content gives the same digest.
 */
const enc = new TextEncoder();

/** The archive holding `content` as `name`. */
export function tarOneFile(name: string, content: Uint8Array): Uint8Array {
  const h = new Uint8Array(512);
  const put = (off: number, s: string): void => h.set(enc.encode(s), off);
  const oct = (n: number, len: number): string => n.toString(8).padStart(len - 1, '0') + '\0';
  put(0, name);
  put(100, oct(0o644, 8));
  put(108, oct(0, 8));
  put(116, oct(0, 8));
  put(124, oct(content.length, 12));
  put(136, oct(0, 12));
  put(148, '        ');
  put(156, '0');
  put(257, 'ustar\0');
  put(263, '00');
  put(148, h.reduce((a, b) => a + b, 0).toString(8).padStart(6, '0') + '\0 ');
  const out = new Uint8Array(512 + Math.ceil(content.length / 512) * 512 + 1024);
  out.set(h, 0);
  out.set(content, 512);
  return out;
}
