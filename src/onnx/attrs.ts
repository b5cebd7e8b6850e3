// Reading node attributes with their ONNX defaults; a value of the wrong kind is an error
// naming the node.
import { QwasmError } from '../errors.js';
import type { GraphNode } from './graph.js';
import { at } from './plan.js';
import type { OnnxTensor } from './tensor.js';

export function attrInt(n: GraphNode, name: string, def: number): number {
  const v = n.attrs.get(name);
  if (v === undefined) return def;
  if (typeof v !== 'number') throw new QwasmError(at(n), `attribute ${name} must be an integer`);
  return v;
}

export function attrFloat(n: GraphNode, name: string, def: number): number {
  return attrInt(n, name, def);
}

export function attrInts(n: GraphNode, name: string): number[] | undefined {
  const v = n.attrs.get(name);
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'number')) {
    throw new QwasmError(at(n), `attribute ${name} must be a list of numbers`);
  }
  return v as number[];
}

export function attrString(n: GraphNode, name: string, def: string): string {
  const v = n.attrs.get(name);
  if (v === undefined) return def;
  if (typeof v !== 'string') throw new QwasmError(at(n), `attribute ${name} must be a string`);
  return v;
}

export function attrTensor(n: GraphNode, name: string): OnnxTensor | undefined {
  const v = n.attrs.get(name);
  if (v === undefined || typeof v !== 'object' || Array.isArray(v)) return undefined;
  return v;
}

/** Refuses attributes outside `allowed` values. */
export function refuse(n: GraphNode, ok: boolean, message: string): asserts ok {
  if (!ok) throw new QwasmError(at(n), message);
}
