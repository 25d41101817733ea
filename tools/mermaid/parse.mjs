// Parse Mermaid files with Mermaid's own parser (in a jsdom window): node parse.mjs FILE... ; exit 1 on any error.
import { JSDOM } from 'jsdom';
import fs from 'fs';
const dom = new JSDOM('<!doctype html><html><body></body></html>', { pretendToBeVisual: true });
globalThis.window = dom.window; globalThis.document = dom.window.document;
try { globalThis.navigator = dom.window.navigator; } catch (e) {}
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false, maxEdges: 500, maxTextSize: 50000 });
let bad = 0;
for (const f of process.argv.slice(2)) {
  const text = fs.readFileSync(f, 'utf8');
  try { await mermaid.parse(text); console.log(`ok ${f}`); }
  catch (e) { bad++; console.log(`FAIL ${f}: ${String(e.message || e).split('\n').slice(0,3).join(' ')}`); }
}
process.exit(bad ? 1 : 0);
