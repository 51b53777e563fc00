/**
 * A real MCP server over stdio, built with the SDK's server side, started as a child process by
 * the tests and the benchmark: `node --import tsx test/support/mcp-stdio-server.ts`.
 * Tools: echo, sleep (for timeout and abort), fail (isError), crash (the process exits),
 * big (1 MB of text), and `dotted.name` (a name the Realtime API would refuse as is).
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const obj = (properties: Record<string, unknown>, required: string[] = []) => ({ type: 'object' as const, properties, required });

const TOOLS = [
  { name: 'echo', description: 'Echoes its text.', inputSchema: obj({ text: { type: 'string' } }, ['text']) },
  { name: 'sleep', description: 'Answers after ms milliseconds.', inputSchema: obj({ ms: { type: 'integer', minimum: 0 } }, ['ms']) },
  { name: 'fail', description: 'Always reports an error.', inputSchema: obj({}) },
  { name: 'crash', description: 'Exits the server process.', inputSchema: obj({}) },
  { name: 'big', description: 'Returns 1 MB of text.', inputSchema: obj({}) },
  { name: 'dotted.name', description: 'A tool whose name has a dot.', inputSchema: obj({}) },
];

const server = new Server({ name: 'test-stdio', version: '1.0.0' }, { capabilities: { tools: {} } });
server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: TOOLS }));
server.setRequestHandler(CallToolRequestSchema, async (req) => {
  const args = (req.params.arguments ?? {}) as Record<string, unknown>;
  const text = (t: string) => ({ content: [{ type: 'text' as const, text: t }] });
  switch (req.params.name) {
    case 'echo':
      return text(`echo: ${String(args.text)}`);
    case 'sleep':
      await new Promise((r) => setTimeout(r, Number(args.ms)));
      return text(`slept ${Number(args.ms)} ms`);
    case 'fail':
      return { ...text('the thing is broken'), isError: true };
    case 'crash':
      process.exit(3);
      break;
    case 'big':
      return text('x'.repeat(1024 * 1024));
    case 'dotted.name':
      return text('dotted ok');
  }
  return { ...text(`unknown tool ${req.params.name}`), isError: true };
});
await server.connect(new StdioServerTransport());
