import sharp from 'sharp';

/**
 * sharp, with libvips' operation cache off. The cache keys a Buffer input by its memory address,
 * not its bytes: once a Buffer is freed and another one is allocated at the same address, an
 * operation on the new bytes can be served the result computed for the old ones (lovell/sharp
 * #436). With thousands of different card images passing through one process, that would hand
 * one card's pixels (or a decode verdict) to another. Every module imports sharp from here.
 */
sharp.cache(false);

export default sharp;
export type { Metadata, Sharp } from 'sharp';
