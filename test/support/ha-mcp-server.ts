/**
 * A Home Assistant stand-in: what HA's `mcp_server` integration serves, built with the SDK's
 * server side. Streamable HTTP at POST /api/mcp, stateless with JSON responses, bearer auth with a
 * long-lived token, HA's tool names over in-memory entity state.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

export interface Entity {
  name: string;
  domain: 'light' | 'switch' | 'cover';
  state: 'on' | 'off';
  brightness?: number;
}

const target = {
  name: { type: 'string', description: 'Name of the device or entity' },
  area: { type: 'string' },
  domain: { type: 'array', items: { type: 'string' } },
};

// Shapes after HA's intent tools (homeassistant/helpers/llm.py): names and parameters as HA sends them.
const TOOLS = [
  { name: 'HassTurnOn', description: 'Turns on/opens a device or entity', inputSchema: { type: 'object', properties: target } },
  { name: 'HassTurnOff', description: 'Turns off/closes a device or entity', inputSchema: { type: 'object', properties: target } },
  {
    name: 'HassLightSet',
    description: 'Sets the brightness or color of a light',
    inputSchema: { type: 'object', properties: { ...target, brightness: { type: 'integer', minimum: 0, maximum: 100 } } },
  },
  {
    name: 'GetLiveContext',
    description: 'Provides real-time information about the CURRENT state of devices',
    inputSchema: { type: 'object', properties: {} },
  },
  { name: 'GetDateTime', description: 'Provides the current date and time.', inputSchema: { type: 'object', properties: {} } },
];

export interface HaStandIn {
  url: string;
  entities: Map<string, Entity>;
  /** Every tools/call the server received, in order. */
  calls: Array<{ name: string; arguments: Record<string, unknown> }>;
  /** Requests refused for a missing or wrong token. */
  refused: number;
  close(): Promise<void>;
}

function mcpServer(state: HaStandIn): Server {
  const server = new Server({ name: 'home-assistant', version: '2025.8.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: TOOLS }));
  server.setRequestHandler(CallToolRequestSchema, async (req) => {
    const args = (req.params.arguments ?? {}) as Record<string, unknown>;
    state.calls.push({ name: req.params.name, arguments: args });
    const reply = (value: unknown, isError = false) => ({ content: [{ type: 'text' as const, text: JSON.stringify(value) }], isError });
    const entity = [...state.entities.values()].find((e) => e.name.toLowerCase() === String(args.name ?? '').toLowerCase());
    switch (req.params.name) {
      case 'GetLiveContext':
        return reply({ success: true, result: [...state.entities.values()] });
      case 'GetDateTime':
        return reply({ success: true, result: { datetime: new Date().toISOString() } });
      case 'HassTurnOn':
      case 'HassTurnOff':
      case 'HassLightSet': {
        if (!entity) return reply({ error: 'MatchFailedError', error_text: `no entity named ${String(args.name)}` }, true);
        if (req.params.name === 'HassLightSet') entity.brightness = Number(args.brightness);
        else entity.state = req.params.name === 'HassTurnOn' ? 'on' : 'off';
        return reply({ success: true, result: { targets: [entity.name] } });
      }
    }
    return reply({ error: `unknown tool ${req.params.name}` }, true);
  });
  return server;
}

export async function startHaStandIn(options: { token: string; entities?: Entity[] }): Promise<HaStandIn> {
  const state: HaStandIn = {
    url: '',
    entities: new Map((options.entities ?? [{ name: 'Kitchen Light', domain: 'light', state: 'off' } as Entity]).map((e) => [e.name, e])),
    calls: [],
    refused: 0,
    close: async () => {},
  };
  const http: HttpServer = createServer((req, res) => {
    if (req.url !== '/api/mcp') return void res.writeHead(404).end();
    if (req.headers.authorization !== `Bearer ${options.token}`) {
      state.refused += 1;
      return void res.writeHead(401, { 'content-type': 'text/plain' }).end('401: Unauthorized');
    }
    if (req.method !== 'POST') return void res.writeHead(405).end();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      // Stateless: a fresh server and transport per request, as HA does.
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      const server = mcpServer(state);
      res.on('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, JSON.parse(Buffer.concat(chunks).toString('utf8')));
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/api/mcp`;
  state.close = () =>
    new Promise<void>((r) => {
      http.closeAllConnections();
      http.close(() => r());
    });
  return state;
}
