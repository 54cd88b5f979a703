import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { errorMessage } from '@pulsebridge/runtime';
import { refusedDeclaration } from './detect.js';
import { checkSampleCount, WorkoutFileError, type WorkoutFileLimits } from './workout.js';

/** An element as fast-xml-parser gives it: attributes under '@_', children by local name. */
export type XmlNode = Record<string, unknown>;

/**
 * Parses GPX or TCX text after refusing what costs unbounded memory: DTDs (entity
 * expansion), invalid UTF-8, badly formed XML, and more sample elements than the limit
 * (counted on the text, before any tree is built).
 */
export function parseWorkoutXml(bytes: Uint8Array, sampleElement: string, arrays: ReadonlySet<string>, limits: WorkoutFileLimits): XmlNode {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (err) {
    throw new WorkoutFileError('corrupt', 'the file is not valid UTF-8', { cause: err });
  }
  if (/<!(DOCTYPE|ENTITY)/i.test(text)) throw refusedDeclaration();
  checkSampleCount(countElements(text, sampleElement), limits);
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    throw new WorkoutFileError('corrupt', `the XML is not well formed: ${valid.err.msg} (line ${valid.err.line})`);
  }
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    removeNSPrefix: true,
    parseTagValue: false,
    parseAttributeValue: false,
    processEntities: false,
    htmlEntities: false,
    isArray: (name) => arrays.has(name),
  });
  try {
    return parser.parse(text) as XmlNode;
  } catch (err) {
    throw new WorkoutFileError('corrupt', `the XML could not be read: ${errorMessage(err)}`, { cause: err });
  }
}

/** Counts opening tags `<name` or `<prefix:name` followed by a space, '>' or '/'. */
function countElements(text: string, name: string): number {
  const pattern = new RegExp(`<(?:[\\w.-]+:)?${name}[\\s/>]`, 'g');
  let count = 0;
  while (pattern.exec(text) !== null) count++;
  return count;
}

export function child(node: unknown, name: string): XmlNode | undefined {
  if (node === null || typeof node !== 'object') return undefined;
  const value = (node as XmlNode)[name];
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as XmlNode) : undefined;
}

export function children(node: unknown, name: string): XmlNode[] {
  if (node === null || typeof node !== 'object') return [];
  const value = (node as XmlNode)[name];
  return Array.isArray(value) ? value.filter((item): item is XmlNode => typeof item === 'object' && item !== null) : [];
}

/** The text of a leaf element (or of an element with attributes, under '#text'). */
export function text(node: unknown, name: string): string | undefined {
  if (node === null || typeof node !== 'object') return undefined;
  const value = (node as XmlNode)[name];
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object' && typeof (value as XmlNode)['#text'] === 'string') {
    return (value as XmlNode)['#text'] as string;
  }
  return undefined;
}

export function buildXml(document: XmlNode): Uint8Array {
  const builder = new XMLBuilder({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    format: true,
    suppressEmptyNode: true,
  });
  const body = builder.build(document) as string;
  return new TextEncoder().encode(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`);
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** Epoch ms of an ISO 8601 time, undefined when absent or unreadable. */
export function parseTime(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

/** Rounds to a number of decimals, for what a format writes as text. */
export function fixed(value: number, decimals: number): string {
  return String(Number(value.toFixed(decimals)));
}
