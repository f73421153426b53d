// @ts-check
// Small, anchored text edits of the files that list backends, so each file keeps its own layout
// (a JSON rewrite would re-indent all of apps/cni/project.json). Each throws, naming the file and
// the anchor, when the file no longer looks as expected: never a silent half-wiring.

/**
 * `text` with `entry` (full lines, indented) added as the last entry of the block `opener` opens:
 * the block ends at the first `}` indented like the opener's line. `json`: entries are separated
 * by commas (the previous last entry gets one); otherwise each entry carries its own trailing comma.
 * @param {string} text @param {string} opener @param {string} entry @param {string} file
 * @param {{ json?: boolean }} [options]
 */
export function appendToBlock(text, opener, entry, file, options = {}) {
  const at = text.indexOf(opener);
  if (at < 0) throw new Error(`backend generator: ${file}: cannot find ${JSON.stringify(opener)} to add the backend to`);
  const lineStart = text.lastIndexOf('\n', at) + 1;
  const indent = /^[ \t]*/.exec(text.slice(lineStart, at))?.[0] ?? '';
  const close = text.indexOf(`\n${indent}}`, at + opener.length);
  if (close < 0) throw new Error(`backend generator: ${file}: the block ${JSON.stringify(opener)} has no closing "}" at its indentation`);
  const body = text.slice(at + opener.length, close);
  const comma = options.json && body.trim() !== '' && !body.trimEnd().endsWith(',') ? ',' : '';
  return `${text.slice(0, close)}${comma}\n${entry.replace(/\n$/, '')}${text.slice(close)}`;
}

/**
 * `text` with `line` after its last `import … from '@podnet/backend-…';` line.
 * @param {string} text @param {string} line @param {string} file
 */
export function insertImport(text, line, file) {
  const imports = [...text.matchAll(/^import [^;]* from '@podnet\/backend-[^']+';$/gm)];
  const last = imports[imports.length - 1];
  if (last === undefined) throw new Error(`backend generator: ${file}: no "import … from '@podnet/backend-…';" line to add the backend's import after`);
  const at = last.index + last[0].length;
  return `${text.slice(0, at)}\n${line}${text.slice(at)}`;
}

/** An object key as the formatter writes it: quoted only when it is not an identifier. @param {string} name */
export function objectKey(name) {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? name : `'${name}'`;
}

/**
 * `dependencies` with `packageName: workspace:*` added, keys sorted as pnpm writes them.
 * @param {Record<string, string> | undefined} dependencies @param {string} packageName
 * @returns {Record<string, string>}
 */
export function sortedDependencies(dependencies, packageName) {
  const all = { ...(dependencies ?? {}), [packageName]: 'workspace:*' };
  return Object.fromEntries(
    Object.keys(all)
      .sort()
      .map((k) => [k, /** @type {string} */ (all[k])]),
  );
}
