// `node --import ./register.mjs`: resolves `bun:test` and `bun` to the shims beside this file.
import { register } from 'node:module';

register(
  'data:text/javascript,' +
    encodeURIComponent(`
const map = { 'bun:test': ${JSON.stringify(new URL('./bun-test.mjs', import.meta.url).href)},
              'bun': ${JSON.stringify(new URL('./bun.mjs', import.meta.url).href)} };
export async function resolve(specifier, context, next) {
  if (Object.hasOwn(map, specifier)) return { url: map[specifier], shortCircuit: true };
  return next(specifier, context);
}`),
);
