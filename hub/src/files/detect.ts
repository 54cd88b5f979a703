import { WorkoutFileError, type WorkoutFormat } from './workout.js';

/** How far into the bytes the XML root element is looked for. */
const XML_PROLOG_SCAN_BYTES = 64 * 1024;

/**
 * The format from the bytes alone: a file name or content type can lie, and the
 * phone apps name exports inconsistently.
 */
export function detectWorkoutFormat(bytes: Uint8Array): WorkoutFormat {
  if (bytes.length >= 12 && (bytes[0] === 12 || bytes[0] === 14) && ascii(bytes, 8, 12) === '.FIT') return 'fit';
  const root = xmlRootName(bytes);
  if (root === 'gpx') return 'gpx';
  if (root === 'TrainingCenterDatabase') return 'tcx';
  throw new WorkoutFileError('unsupported_format', 'the file is neither FIT, GPX nor TCX');
}

function ascii(bytes: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...bytes.subarray(from, to));
}

/** The local name of the first element, skipping the XML declaration, comments and processing instructions. */
function xmlRootName(bytes: Uint8Array): string | undefined {
  let text = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, XML_PROLOG_SCAN_BYTES));
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let at = 0;
  for (;;) {
    while (at < text.length && /\s/.test(text[at]!)) at++;
    if (text.startsWith('<?', at)) {
      const end = text.indexOf('?>', at);
      if (end < 0) return undefined;
      at = end + 2;
    } else if (text.startsWith('<!--', at)) {
      const end = text.indexOf('-->', at);
      if (end < 0) return undefined;
      at = end + 3;
    } else if (text.startsWith('<!DOCTYPE', at)) {
      throw refusedDeclaration();
    } else if (text[at] === '<') {
      const name = /^<([A-Za-z_][\w.:-]*)/.exec(text.slice(at, at + 200))?.[1];
      return name?.slice(name.indexOf(':') + 1);
    } else {
      return undefined;
    }
  }
}

/** DTDs are the way into entity expansion (billion laughs) and external entities: none is ever needed here. */
export function refusedDeclaration(): WorkoutFileError {
  return new WorkoutFileError('unsupported_format', 'XML with a DOCTYPE or ENTITY declaration is refused');
}
