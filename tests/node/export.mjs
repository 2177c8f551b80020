// export.mjs: exports one small trace with the OpenTelemetry JS SDK to a
// running tracestore, through the official OTLP/HTTP exporter.
// Usage: node export.mjs <base-url> <api-key> <proto|json> [path]
// path defaults to /v1/traces. Prints {"trace_id":"<32 hex>"} on success;
// exits 1 (with the exporter's error on stderr) when the export fails.
import { trace, context, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';

const [base, key, mode, path = '/v1/traces'] = process.argv.slice(2);
if (!base || !key || (mode !== 'proto' && mode !== 'json')) {
  console.error('usage: node export.mjs <base-url> <api-key> <proto|json> [path]');
  process.exit(2);
}

const Exporter = mode === 'proto' ? ProtoExporter : JsonExporter;
const inner = new Exporter({ url: base + path, headers: { 'X-API-KEY': key }, timeoutMillis: 10000 });

// Wraps the exporter to record every export result (the SDK only logs them).
const results = [];
const exporter = {
  export(spans, done) {
    inner.export(spans, (res) => {
      results.push(res);
      done(res);
    });
  },
  shutdown: () => inner.shutdown(),
  forceFlush: () => inner.forceFlush(),
};

const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'tracestore-node-test', 'session.id': 'sess-node' }),
  spanProcessors: [new SimpleSpanProcessor(exporter)],
});
const tracer = provider.getTracer('tracestore-test', '1.0.0');

// No context manager is registered, so the parent is passed explicitly.
const root = tracer.startSpan('agent run', { kind: SpanKind.INTERNAL });
const traceId = root.spanContext().traceId;
{
  root.setAttribute('gen_ai.operation.name', 'invoke_agent');
  root.setAttribute('promptlayer.metadata.env', 'test');
  const llm = tracer.startSpan('chat gpt-4o-mini', {
    kind: SpanKind.CLIENT,
    attributes: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
      'gen_ai.usage.input_tokens': 1000,
      'gen_ai.usage.output_tokens': 500,
      'gen_ai.input.messages': JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: 'hello' }] }]),
      'gen_ai.output.messages': JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: 'hi' }] }]),
      'user.id': 'user-node',
    },
  }, trace.setSpan(context.active(), root));
  llm.setStatus({ code: SpanStatusCode.OK });
  llm.end();
  root.end();
}

try {
  await provider.forceFlush();
  await provider.shutdown();
} catch (e) {
  console.error('flush failed:', e);
  process.exit(1);
}
const failed = results.filter((r) => r.code !== 0);
if (results.length === 0 || failed.length > 0) {
  console.error('export failed:', failed.length ? String(failed[0].error) : 'nothing exported');
  process.exit(1);
}
console.log(JSON.stringify({ trace_id: traceId, exports: results.length }));
