/**
 * Regenerates data/telecodes.tsv from the Unihan database installed by Debian's `unicode-data`
 * package: `npx tsx scripts/gen-telecodes.ts [path/to/Unihan_OtherMappings.txt(.bz2)]`.
 *
 * Only two fields are kept (kTaiwanTelegraph, kMainlandTelegraph): the committed file stays
 * small and the runtime never needs bzip2.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CANDIDATES = [
  '/usr/share/unicode/Unihan_OtherMappings.txt.bz2',
  '/usr/share/unicode/Unihan_OtherMappings.txt',
  '/usr/share/unicode-data/Unihan_OtherMappings.txt.bz2',
];

// Unicode License v3 (SPDX Unicode-3.0), the terms Unicode now publishes its data files under.
// The notice must travel with every copy of the data, so it heads the generated file.
const LICENSE = `UNICODE LICENSE V3

COPYRIGHT AND PERMISSION NOTICE

Copyright © 1991-2022 Unicode, Inc.

NOTICE TO USER: Carefully read the following legal agreement. BY DOWNLOADING, INSTALLING,
COPYING OR OTHERWISE USING DATA FILES, AND/OR SOFTWARE, YOU UNEQUIVOCALLY ACCEPT, AND AGREE TO
BE BOUND BY, ALL OF THE TERMS AND CONDITIONS OF THIS AGREEMENT. IF YOU DO NOT AGREE, DO NOT
DOWNLOAD, INSTALL, COPY, DISTRIBUTE OR USE THE DATA FILES OR SOFTWARE.

Permission is hereby granted, free of charge, to any person obtaining a copy of data files and
any associated documentation (the "Data Files") or software and any associated documentation
(the "Software") to deal in the Data Files or Software without restriction, including without
limitation the rights to use, copy, modify, merge, publish, distribute, and/or sell copies of
the Data Files or Software, and to permit persons to whom the Data Files or Software are
furnished to do so, provided that either (a) this copyright and permission notice appear with
all copies of the Data Files or Software, or (b) this copyright and permission notice appear in
associated Documentation.

THE DATA FILES AND SOFTWARE ARE PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A
PARTICULAR PURPOSE AND NONINFRINGEMENT OF THIRD PARTY RIGHTS.

IN NO EVENT SHALL THE COPYRIGHT HOLDER OR HOLDERS INCLUDED IN THIS NOTICE BE LIABLE FOR ANY
CLAIM, OR ANY SPECIAL INDIRECT OR CONSEQUENTIAL DAMAGES, OR ANY DAMAGES WHATSOEVER RESULTING
FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN ACTION OF CONTRACT, NEGLIGENCE OR OTHER
TORTIOUS ACTION, ARISING OUT OF OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THE DATA FILES
OR SOFTWARE.

Except as contained in this notice, the name of a copyright holder shall not be used in
advertising or otherwise to promote the sale, use or other dealings in these Data Files or
Software without prior written authorization of the copyright holder.

SPDX-License-Identifier: Unicode-3.0`;

function readSource(path: string): string {
  // bzip2 is not in node:zlib; bzcat ships with every Debian that has unicode-data.
  return path.endsWith('.bz2')
    ? execFileSync('bzcat', [path], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 })
    : readFileSync(path, 'utf8');
}

function main(): void {
  const source = process.argv[2] ?? CANDIDATES.find((p) => existsSync(p));
  if (!source) {
    throw new Error(
      `Unihan_OtherMappings.txt not found (looked in ${CANDIDATES.join(', ')}); install it with \`apt-get install -y unicode-data\` or pass its path.`,
    );
  }
  const text = readSource(source);
  const version = /^# Unicode version: (.+)$/m.exec(text)?.[1]?.trim() ?? 'unknown';
  const date = /^# Date: (.+)$/m.exec(text)?.[1]?.trim() ?? 'unknown';
  const codes = new Map<number, { taiwan?: string; mainland?: string }>();
  for (const line of text.split('\n')) {
    // A few characters carry two codes, space-separated (U+5875 塵: 1057 7775); keep both, in order.
    const m = /^U\+([0-9A-F]{4,6})\t(kTaiwanTelegraph|kMainlandTelegraph)\t(\d{4}(?: \d{4})*)\s*$/.exec(line);
    if (!m) continue;
    const cp = Number.parseInt(m[1]!, 16);
    const entry = codes.get(cp) ?? {};
    if (m[2] === 'kTaiwanTelegraph') entry.taiwan = m[3]!;
    else entry.mainland = m[3]!;
    codes.set(cp, entry);
  }
  let taiwan = 0;
  let mainland = 0;
  const rows: string[] = [];
  for (const cp of [...codes.keys()].sort((a, b) => a - b)) {
    const e = codes.get(cp)!;
    if (e.taiwan) taiwan++;
    if (e.mainland) mainland++;
    rows.push(`${String.fromCodePoint(cp)}\t${e.taiwan ?? ''}\t${e.mainland ?? ''}`);
  }
  const header = [
    'Chinese telegraph codes (telecodes), one character a line: char<TAB>Taiwan code<TAB>mainland code.',
    'A code column is empty when absent; a few hold two codes separated by a space, the first preferred.',
    `Extracted from the Unicode Character Database, Unihan_OtherMappings.txt (Unicode ${version}, ${date}),`,
    `fields kTaiwanTelegraph (${taiwan} characters) and kMainlandTelegraph (${mainland} characters).`,
    'This file is modified from the original: only these two fields are kept, regrouped by character.',
    'Generated by scripts/gen-telecodes.ts; do not edit by hand.',
    '',
    ...LICENSE.split('\n'),
  ];
  const out = `${header.map((l) => (l ? `# ${l}` : '#')).join('\n')}\n${rows.join('\n')}\n`;
  const target = join(dirname(fileURLToPath(import.meta.url)), '..', 'data', 'telecodes.tsv');
  writeFileSync(target, out);
  console.log(`wrote ${target}: ${rows.length} characters (Taiwan ${taiwan}, mainland ${mainland})`);
}

main();
