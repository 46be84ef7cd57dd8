import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp, { type Stats } from 'sharp';
import { describe, expect, it } from 'vitest';
import { checkCard } from '../src/card/checks.js';
import { MACAO_SYMBOLS, parseCardDate, RESIDENT_TYPES } from '../src/card/fields.js';
import { encodeTelecode, telecodesOf } from '../src/card/telecode.js';
import { readTruth } from '../src/sandbox/emulator/groundTruth.js';
import {
  CARD_HEIGHT,
  CARD_WIDTH,
  type CardCondition,
  CONDITION_WARNINGS,
  DEFAULT_REFERENCE_DATE,
  dirSink,
  FAULT_KINDS,
  generateCard,
  generateSamples,
  OVERSIZE_MIN_BYTES,
  PORTRAIT_BOX,
  renderCard,
  type SampleObject,
  type SpecimenCard,
  writeSamples,
} from '../src/sandbox/specimen/index.js';
import { GIVEN_FEMALE, GIVEN_MALE, SURNAMES } from '../src/sandbox/specimen/names.js';

const iso = (cardDate: string): string => {
  const d = parseCardDate(cardDate);
  if (!d) throw new Error(`not a date: ${cardDate}`);
  return d;
};
const addYears = (isoDate: string, n: number): string =>
  `${Number(isoDate.slice(0, 4)) + n}${isoDate.slice(4)}`;
const age = (birth: string, at: string): number =>
  Number(at.slice(0, 4)) - Number(birth.slice(0, 4)) - (at.slice(5) < birth.slice(5) ? 1 : 0);

function findCard(condition: CardCondition | undefined): SpecimenCard {
  for (let i = 0; i < 500; i++) {
    const c = generateCard(3, i);
    if (c.condition === condition) return c;
  }
  throw new Error(`no ${condition} card in the first 500`);
}

describe('generateCard', () => {
  it('is reproducible from (seed, index) and differs between indexes', () => {
    expect(generateCard(42, 17)).toEqual(generateCard(42, 17));
    expect(generateCard(42, 17).specimenId).toBe('s42-000017');
    expect(generateCard(42, 18).fields).not.toEqual(generateCard(42, 17).fields);
    expect(generateCard(43, 17).fields).not.toEqual(generateCard(42, 17).fields);
  });

  it('uses only name characters that have a telecode (Taiwan table)', () => {
    const chars = [
      ...SURNAMES.map(([c]) => c),
      ...GIVEN_MALE.map(([c]) => c),
      ...GIVEN_FEMALE.map(([c]) => c),
    ];
    for (const c of chars.join('')) expect(telecodesOf(c)?.taiwan, c).toMatch(/^\d{4}$/);
  });

  it('makes plausible, self-consistent cards', () => {
    const ref = DEFAULT_REFERENCE_DATE;
    let conditions = 0;
    let permanentValidity = 0;
    for (let i = 0; i < 600; i++) {
      const { fields: f, condition, warnings } = generateCard(9, i);
      expect(f.ID).toMatch(/^[157]\d{6}\(\d\)$/);
      expect(['M', 'F']).toContain(f.Sex);
      expect(Object.keys(MACAO_SYMBOLS)).toContain(f.Symbol);
      expect(RESIDENT_TYPES).toContain(f.ResidentType);
      expect(f.Height).toMatch(/^[12]\.\d{2}$/);
      expect(f.LastNameCode).toBe(encodeTelecode(f.CnLastName));
      expect(f.FirstNameCode).toBe(encodeTelecode(f.CnFirstName));
      expect(f.EnLastName).toMatch(/^[A-ZÀ-Ý ]+$/);
      const birth = iso(f.Birthday);
      const first = iso(f.FirstIssueDate);
      const current = iso(f.CurrentIssueDate);
      expect(birth < first, f.FirstIssueDate).toBe(true);
      expect(first <= current).toBe(true);
      expect(current <= ref).toBe(true);
      const ageAtIssue = age(birth, current);
      const permanent = f.ResidentType === RESIDENT_TYPES[0];
      if (f.ValidityPeriod === '------') {
        permanentValidity++;
        expect(permanent && ageAtIssue >= 60).toBe(true);
      } else {
        expect(permanent && ageAtIssue >= 60).toBe(false);
        const years = permanent && ageAtIssue >= 18 ? 10 : 5;
        expect(iso(f.ValidityPeriod)).toBe(addYears(current, years));
        expect(iso(f.ValidityPeriod) > ref).toBe(true);
      }
      expect(warnings).toEqual(condition ? [CONDITION_WARNINGS[condition]] : []);
      if (condition) conditions++;
    }
    // About 15% of cards have a condition; some elderly holders have permanent validity.
    expect(conditions).toBeGreaterThan(600 * 0.08);
    expect(conditions).toBeLessThan(600 * 0.22);
    expect(permanentValidity).toBeGreaterThan(10);
  });

  it("passes every one of the project's own card checks as of the reference date", () => {
    for (let i = 0; i < 600; i++) {
      const card = generateCard(21, i);
      expect(checkCard(card.fields, { today: DEFAULT_REFERENCE_DATE }), card.specimenId).toEqual([]);
    }
  });

  it('rejects a malformed reference date, naming the option', () => {
    expect(() => generateCard(1, 1, { referenceDate: '01-01-2026' })).toThrow(/`referenceDate`/);
  });
});

describe('renderCard', () => {
  it('renders a decodable JPEG front and back carrying exactly the generated truth', async () => {
    const card = findCard(undefined);
    const out = await renderCard(card);
    const meta = await sharp(out.front).metadata();
    expect(meta).toMatchObject({ format: 'jpeg', width: CARD_WIDTH, height: CARD_HEIGHT });
    await sharp(out.front).raw().toBuffer();
    const truth = await readTruth(out.front);
    expect(truth).toEqual(out.truth);
    expect(truth).toMatchObject({
      specimenId: card.specimenId,
      side: 'front',
      fields: card.fields,
      warnings: [],
      portrait: PORTRAIT_BOX,
      width: CARD_WIDTH,
      height: CARD_HEIGHT,
    });
    expect(out.back).toBeDefined();
    const backTruth = await readTruth(out.back!);
    expect(backTruth).toMatchObject({
      side: 'back',
      specimenId: card.specimenId,
      fields: card.fields,
      warnings: [],
    });
    expect(backTruth?.portrait).toBeUndefined();
  });

  it('is deterministic, and renders PNG on request, front only when asked', async () => {
    const card = generateCard(5, 2);
    const a = await renderCard(card, { back: false });
    const b = await renderCard(card, { back: false });
    expect(a.front.equals(b.front)).toBe(true);
    expect(a.back).toBeUndefined();
    const png = await renderCard(card, { format: 'png', back: false });
    expect((await sharp(png.front).metadata()).format).toBe('png');
    expect((await readTruth(png.front))?.fields).toEqual(card.fields);
  });

  it('draws the portrait inside the truth portrait box', async () => {
    const card = findCard(undefined);
    const out = await renderCard(card, { format: 'png', back: false });
    const { data, info } = await sharp(out.front).raw().toBuffer({ resolveWithObject: true });
    const px = (x: number, y: number): string => {
      const o = (y * info.width + x) * info.channels;
      return `#${[data[o], data[o + 1], data[o + 2]].map((v) => v!.toString(16).padStart(2, '0')).join('')}`;
    };
    const p = out.truth.portrait!;
    // Just inside the top corners is the photo backdrop; just outside it is the card.
    expect(px(p.left + 4, p.top + 4)).toBe(card.look.backdrop);
    expect(px(p.left + p.width - 5, p.top + 4)).toBe(card.look.backdrop);
    expect(px(p.left - 6, p.top + 4)).not.toBe(card.look.backdrop);
    expect(px(p.left + 4, p.top - 6)).not.toBe(card.look.backdrop);
  });

  it('warns only for cards with a condition, and the condition is visible', async () => {
    const stats = async (
      img: Buffer,
      region?: { left: number; top: number; width: number; height: number },
    ) => sharp(region ? await sharp(img).extract(region).toBuffer() : img).stats();
    for (const condition of ['photocopy', 'blur', 'glare', 'cover'] as const) {
      const card = findCard(condition);
      const spoiled = await renderCard(card, { format: 'png', back: false });
      const { condition: _drop, ...rest } = card;
      const clean = await renderCard({ ...rest, warnings: [] }, { format: 'png', back: false });
      expect((await readTruth(spoiled.front))?.warnings).toEqual([CONDITION_WARNINGS[condition]]);
      expect((await readTruth(clean.front))?.warnings).toEqual([]);
      const s = await stats(spoiled.front);
      const c = await stats(clean.front);
      const mean = (st: Stats) => st.channels.slice(0, 3).reduce((a, ch) => a + ch.mean, 0) / 3;
      if (condition === 'photocopy') {
        expect(s.channels[0]!.mean).toBeCloseTo(s.channels[2]!.mean, 5);
        expect(s.isOpaque).toBe(true);
        expect(Math.abs(c.channels[0]!.mean - c.channels[2]!.mean)).toBeGreaterThan(1);
      }
      if (condition === 'blur') expect(s.sharpness).toBeLessThan(c.sharpness * 0.6);
      if (condition === 'glare') {
        // Glare washes out one patch of the card: some cell of a 10 x 6 grid gets much brighter.
        const cells = Array.from({ length: 60 }, (_, k) => ({
          left: (k % 10) * 100,
          top: Math.floor(k / 10) * 105,
          width: 100,
          height: 105,
        }));
        const gains = await Promise.all(
          cells.map(
            async (box) => mean(await stats(spoiled.front, box)) - mean(await stats(clean.front, box)),
          ),
        );
        expect(Math.max(...gains)).toBeGreaterThan(20);
        expect(Math.min(...gains)).toBeGreaterThanOrEqual(0);
      }
      if (condition === 'cover') {
        const corners = [
          { left: 0, top: 0 },
          { left: CARD_WIDTH - 120, top: 0 },
          { left: 0, top: CARD_HEIGHT - 90 },
          { left: CARD_WIDTH - 120, top: CARD_HEIGHT - 90 },
        ];
        const diffs = await Promise.all(
          corners.map(async (k) => {
            const box = { ...k, width: 120, height: 90 };
            return Math.abs(mean(await stats(spoiled.front, box)) - mean(await stats(clean.front, box)));
          }),
        );
        expect(Math.max(...diffs)).toBeGreaterThan(20);
        expect(diffs.filter((d) => d > 1)).toHaveLength(1);
      }
    }
  });
});

describe('sample datasets', () => {
  it('adds one fault of each kind, each with its promised property', async () => {
    const objects: SampleObject[] = [];
    for await (const o of generateSamples({ count: 4, seed: 11, faults: true, backRatio: 0 }))
      objects.push(o);
    expect(objects.filter((o) => o.kind === 'card')).toHaveLength(4);
    const byKind = new Map(objects.map((o) => [o.kind, o]));
    for (const kind of FAULT_KINDS)
      expect(
        objects.filter((o) => o.kind === kind),
        kind,
      ).toHaveLength(1);

    const gif = byKind.get('gif')!;
    expect(gif.key).toBe('fault-gif-0001.gif');
    expect((await sharp(gif.body).metadata()).format).toBe('gif');

    const truncated = byKind.get('truncated')!;
    expect(truncated.key).toBe('fault-truncated-0001_front.jpg');
    expect((await sharp(truncated.body).metadata()).format).toBe('jpeg');
    await expect(sharp(truncated.body).raw().toBuffer()).rejects.toThrow(/premature end of JPEG/);

    const empty = byKind.get('empty')!;
    expect(empty.key).toMatch(/_front\.jpg$/);
    expect(empty.body.length).toBe(0);

    const oversize = byKind.get('oversize')!;
    expect(oversize.body.length).toBeGreaterThan(OVERSIZE_MIN_BYTES);
    const big = await sharp(oversize.body).metadata();
    await sharp(oversize.body).raw().toBuffer();
    const bigTruth = await readTruth(oversize.body);
    expect(bigTruth).toEqual(oversize.truth);
    expect(bigTruth).toMatchObject({ width: big.width, height: big.height, side: 'front' });
    expect(bigTruth!.portrait!.width / PORTRAIT_BOX.width).toBeCloseTo(big.width! / CARD_WIDTH, 5);

    const photo = byKind.get('not-a-card')!;
    await sharp(photo.body).raw().toBuffer();
    expect(await readTruth(photo.body)).toBeUndefined();

    const text = byKind.get('text-as-jpg')!;
    expect(text.key).toMatch(/\.jpg$/);
    await expect(sharp(text.body).metadata()).rejects.toThrow(/unsupported image format/);
  });

  it('writes a dataset to a folder with paired keys and a summary', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'specimen-test-'));
    try {
      const summary = await writeSamples({
        count: 6,
        seed: 2,
        backRatio: 0.5,
        sink: dirSink(join(dir, 'a/b')),
      });
      const files = (await readdir(join(dir, 'a/b'))).sort();
      expect(summary.cards).toBe(6);
      expect(files.filter((f) => f.endsWith('_front.jpg'))).toHaveLength(6);
      expect(files.filter((f) => f.endsWith('_back.jpg'))).toHaveLength(summary.cardsWithBack);
      expect(summary.counts.card).toBe(6 + summary.cardsWithBack);
      expect(summary.objects.map((o) => o.key).sort()).toEqual(files);
      for (const f of files.filter((f) => f.endsWith('_back.jpg'))) {
        expect(files).toContain(f.replace('_back', '_front'));
      }
      const first = await readFile(join(dir, 'a/b', 'card-000000_front.jpg'));
      expect((await readTruth(first))?.specimenId).toBe('s2-000000');
      expect(summary.bytes).toBeGreaterThan(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('honours backRatio 0 and 1', async () => {
    const keys = async (backRatio: number) => {
      const out: string[] = [];
      for await (const o of generateSamples({ count: 5, backRatio })) out.push(o.key);
      return out;
    };
    expect((await keys(0)).filter((k) => k.includes('_back'))).toHaveLength(0);
    expect((await keys(1)).filter((k) => k.includes('_back'))).toHaveLength(5);
  });

  it('validates its options, naming the option and the value', async () => {
    await expect(generateSamples({ count: -1 }).next()).rejects.toThrow(
      /`count` must be an integer >= 0, got `-1`/,
    );
    await expect(generateSamples({ count: 1, backRatio: 2 }).next()).rejects.toThrow(/`backRatio`/);
  });
});
