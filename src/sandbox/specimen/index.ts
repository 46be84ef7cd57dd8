/**
 * Specimen Macao resident identity cards: seeded card data, rendered images with the ground truth
 * embedded, and sample datasets (with faults) for tests, benchmarks and the demo.
 */
export { machineReadableZone } from './back.js';
export { CARD_HEIGHT, CARD_WIDTH } from './draw.js';
export { OVERSIZE_MIN_BYTES, renderFault } from './faults.js';
export { CJK_FONT_ENV, ensureFonts } from './fonts.js';
export { PORTRAIT_BOX, spacedTelecode } from './front.js';
export {
  type CardCondition,
  CONDITION_WARNINGS,
  DEFAULT_REFERENCE_DATE,
  formatCardDate,
  type GenerateCardOptions,
  generateCard,
  type PortraitLook,
  type SpecimenCard,
} from './generateCard.js';
export { type RenderCardOptions, type RenderedCard, renderCard, type SpecimenFormat } from './renderCard.js';
export { dirSink, type GenerateSamplesOptions, generateSamples, writeSamples } from './samples.js';
export {
  FAULT_KINDS,
  type FaultKind,
  type SampleKind,
  type SampleObject,
  type SampleSink,
  type SamplesSummary,
} from './sampleTypes.js';
