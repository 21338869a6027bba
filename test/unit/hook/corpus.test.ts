import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { scanManifests, pinManifests, pinnedReference, type ManifestImage } from '../../../hook/manifests.js';

const root = new URL('../../fixtures/k8s/', import.meta.url).pathname;

interface Expected {
  documentIndex: number;
  kind: string;
  name: string;
  namespace?: string;
  path: string;
  container: string;
  image: string;
  reference: string;
}

const corpus: { project: string; file: string }[] = [];
for (const project of readdirSync(root).sort()) {
  if (project === 'admission' || project.endsWith('.md')) continue;
  for (const file of readdirSync(join(root, project)).sort()) if (file.endsWith('.yaml')) corpus.push({ project, file });
}

function view(o: ManifestImage): Expected {
  return {
    documentIndex: o.documentIndex,
    kind: o.kind as string,
    name: o.name as string,
    ...(o.namespace !== undefined ? { namespace: o.namespace } : {}),
    path: o.path,
    container: o.container as string,
    image: o.image,
    reference: o.reference as string,
  };
}

const key = (e: Expected) => `${e.documentIndex}|${e.path}`;
const sorted = (l: Expected[]) => [...l].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));

/**
 * Undoes the rewrites (each pinned reference back to the image as written, longest first) and
 * returns the result: it equals the original exactly when nothing but image scalars changed.
 */
function undoPins(out: string, pins: Map<string, string>): string {
  let s = out;
  for (const [from, to] of [...pins].sort((a, b) => b[1].length - a[1].length)) s = s.split(to).join(from);
  return s;
}

describe('Kubernetes manifest corpus (test/fixtures/k8s, see SOURCES.md)', () => {
  it('holds a varied corpus: 11 files from 5 projects', () => {
    assert.equal(corpus.length, 11);
    assert.equal(new Set(corpus.map((c) => c.project)).size, 5);
  });

  for (const { project, file } of corpus) {
    const path = join(root, project, file);
    const text = readFileSync(path, 'utf8');
    const expected = JSON.parse(readFileSync(path.replace(/\.yaml$/, '.expected.json'), 'utf8')) as Expected[];

    describe(`${project}/${file}`, () => {
      it('finds every image, none invented', () => {
        const found = scanManifests(text, { file }).map(view);
        assert.deepEqual(sorted(found), sorted(expected));
      });

      it('reports file, position, and no reference errors', () => {
        for (const o of scanManifests(text, { file })) {
          assert.equal(o.file, file);
          assert.equal(o.error, undefined);
          assert.ok(o.line !== undefined && o.line >= 1);
          // the line really holds the image text (or the anchor it comes from)
          const line = text.split('\n')[(o.line as number) - 1] as string;
          assert.ok(line.includes(o.image), `${o.path}: line ${o.line} is ${JSON.stringify(line)}`);
        }
      });

      it('pins every image without touching any other byte', () => {
        const found = scanManifests(text, { file });
        const digest = 'sha256:' + 'c'.repeat(64);
        const pins = new Map<string, string>();
        for (const o of found) if (o.digest === undefined) pins.set(o.image, pinnedReference(o.image, digest));
        const out = pinManifests(text, pins, { file });
        const after = scanManifests(out, { file });
        assert.deepEqual(
          after.map((o) => o.image),
          found.map((o) => pins.get(o.image) ?? o.image),
        );
        assert.deepEqual(after.map((o) => o.path), found.map((o) => o.path));
        // everything outside the image scalars is byte-identical
        assert.equal(undoPins(out, pins), text);
        assert.equal(out.split('@' + digest).length - 1, new Set(found.filter((o) => o.digest === undefined).map((o) => `${o.line}:${o.column}`)).size);
        if (pins.size === 0) assert.equal(out, text);
        else assert.notEqual(out, text);
        // pinning again is a no-op once everything carries a digest
        const again = new Map(after.filter((o) => o.digest === undefined).map((o) => [o.image, o.image]));
        assert.equal(again.size, 0);
      });
    });
  }
});
