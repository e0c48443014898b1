// Nimbus's runtime client for nodejs*.x functions: the Lambda Runtime API
// loop, the handler contract (async or callback), the context object and
// Lambda's error and log formats. It knows Nimbus only through the Runtime
// API (AWS_LAMBDA_RUNTIME_API).
import http from 'node:http';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import util from 'node:util';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';

const [apiHost, apiPort] = process.env.AWS_LAMBDA_RUNTIME_API.split(':');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const base = '/2018-06-01/runtime';

// The invocation loop's requests (next, response, error) go over one
// kept-alive socket with a minimal HTTP/1.1 client: node's http module runs
// several times more JavaScript per request, which was most of a warm
// invocation's cost. (The official runtime client uses a native HTTP client
// for the same reason.) Streamed responses still use node's http.
class RuntimeConnection {
  constructor() {
    this.socket = undefined;
    this.pending = undefined; // {resolve, reject} of the request in flight
    // What has arrived of the answer, kept as received until enough is
    // there to parse (a body of megabytes comes in many reads; joining them
    // at each read would copy it over and over).
    this.chunks = [];
    this.length = 0;
    this.needed = 0; // bytes to wait for before parsing again
    this.queue = Promise.resolve();
  }

  // Requests are sent one at a time, in call order.
  request(method, urlPath, body, headers) {
    const result = this.queue.then(() => this.send(method, urlPath, body, headers));
    this.queue = result.catch(() => {});
    return result;
  }

  connect() {
    const socket = net.connect({ host: apiHost, port: Number(apiPort) });
    socket.setNoDelay(true);
    socket.on('data', (chunk) => {
      if (this.socket !== socket) return;
      this.chunks.push(chunk);
      this.length += chunk.length;
      if (this.length >= this.needed) this.parse();
    });
    const lost = (error) => {
      if (this.socket !== socket) return; // one let go after its last answer
      this.socket = undefined;
      this.keep(Buffer.alloc(0));
      const pending = this.pending;
      this.pending = undefined;
      if (pending) pending.reject(error ?? new Error('the Runtime API closed the connection'));
    };
    socket.on('error', lost);
    socket.on('close', () => lost());
    this.socket = socket;
  }

  send(method, urlPath, body, headers = {}) {
    return new Promise((resolve, reject) => {
      if (!this.socket) this.connect();
      this.pending = { resolve, reject };
      const payload = body === undefined ? '' : body;
      let head = `${method} ${base}${urlPath} HTTP/1.1\r\nHost: ${apiHost}:${apiPort}\r\n`;
      for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
      head += `Content-Length: ${Buffer.byteLength(payload)}\r\n\r\n`;
      this.socket.write(head + payload);
    });
  }

  // Completes the request in flight once its whole response is buffered:
  // a Content-Length body or a chunked one.
  parse() {
    if (!this.pending) return;
    const buffer = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.length);
    this.keep(buffer);
    const end = buffer.indexOf('\r\n\r\n');
    if (end < 0) return;
    const lines = buffer.toString('latin1', 0, end).split('\r\n');
    const status = Number(lines[0].split(' ')[1]);
    const headers = {};
    for (let i = 1; i < lines.length; i++) {
      const colon = lines[i].indexOf(':');
      if (colon <= 0) continue;
      const name = lines[i].slice(0, colon).trim().toLowerCase();
      const value = lines[i].slice(colon + 1).trim();
      headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
    }
    const start = end + 4;
    let body;
    let consumed;
    if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
      const chunks = [];
      let at = start;
      for (;;) {
        const lineEnd = buffer.indexOf('\r\n', at);
        if (lineEnd < 0) return;
        const size = parseInt(buffer.toString('latin1', at, lineEnd), 16);
        if (Number.isNaN(size)) return this.fail(new Error('malformed chunked response'));
        if (size === 0) {
          const trailersEnd = buffer.indexOf('\r\n\r\n', lineEnd);
          if (trailersEnd < 0) return;
          consumed = trailersEnd + 4;
          break;
        }
        if (buffer.length < lineEnd + 2 + size + 2) return;
        chunks.push(buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
        at = lineEnd + 2 + size + 2;
      }
      body = Buffer.concat(chunks);
    } else {
      const length = Number(headers['content-length'] ?? 0);
      if (buffer.length < start + length) {
        this.needed = start + length;
        return;
      }
      body = buffer.subarray(start, start + length);
      consumed = start + length;
    }
    const text = body.toString('utf8');
    this.keep(buffer.subarray(consumed));
    const { resolve } = this.pending;
    this.pending = undefined;
    if (/close/i.test(headers.connection ?? '')) {
      const socket = this.socket;
      this.socket = undefined;
      socket?.end();
    }
    resolve({ status, headers, body: text });
  }

  // What is buffered becomes `rest`, all of it to parse on the next read.
  keep(rest) {
    this.chunks = rest.length ? [rest] : [];
    this.length = rest.length;
    this.needed = 0;
  }

  fail(error) {
    const socket = this.socket;
    this.socket = undefined;
    socket?.destroy();
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(error);
  }
}

const runtime = new RuntimeConnection();

function call(method, urlPath, body, headers = {}) {
  return runtime.request(method, urlPath, body, headers);
}

function errorDocument(error) {
  if (error instanceof Error) {
    return {
      errorType: error.name || 'Error',
      errorMessage: error.message,
      trace: (error.stack || '').split('\n'),
    };
  }
  if (typeof error === 'object' && error !== null) {
    return { errorType: 'Error', errorMessage: JSON.stringify(error), trace: [] };
  }
  return { errorType: 'string', errorMessage: String(error), trace: [] };
}

// console.* lines as Lambda writes them: timestamp, request id, level,
// message; a message's own newlines become \r so it stays one log event.
let currentRequestId;
for (const [method, level, stream] of [
  ['log', 'INFO', process.stdout],
  ['info', 'INFO', process.stdout],
  ['debug', 'DEBUG', process.stdout],
  ['warn', 'WARN', process.stderr],
  ['error', 'ERROR', process.stderr],
  ['trace', 'TRACE', process.stderr],
]) {
  console[method] = (...args) => {
    const message = util.format(...args).replace(/\n/g, '\r');
    stream.write(`${new Date().toISOString()}\t${currentRequestId ?? 'undefined'}\t${level}\t${message}\n`);
  };
}

class ImportModuleError extends Error {
  constructor(message) {
    super(message);
    this.name = 'Runtime.ImportModuleError';
  }
}
class HandlerNotFound extends Error {
  constructor(message) {
    super(message);
    this.name = 'Runtime.HandlerNotFound';
  }
}
class MalformedHandlerName extends Error {
  constructor(message) {
    super(message);
    this.name = 'Runtime.MalformedHandlerName';
  }
}

// Response streaming, as Lambda's Node.js runtime offers it:
// awslambda.streamifyResponse(async (event, responseStream, context) => ...)
// marks a handler whose answer is written to a stream and sent to the
// Runtime API as a chunked POST in streaming mode; an error after the stream
// began is reported in trailers. awslambda.HttpResponseStream.from(stream,
// {statusCode, headers, cookies}) starts a function URL's HTTP response.
const STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const HTTP_INTEGRATION = 'application/vnd.awslambda.http-integration-response';
const ERROR_TRAILERS = 'Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body';

class ResponseStream extends Writable {
  constructor(requestId) {
    super();
    this.requestId = requestId;
    this.contentType = 'application/octet-stream';
    this.request = undefined;
    this.answer = new Promise((resolve, reject) => {
      this.resolveAnswer = resolve;
      this.rejectAnswer = reject;
    });
  }

  setContentType(type) {
    if (this.request) throw new Error('the content type must be set before the first write');
    this.contentType = type;
  }

  open() {
    if (this.request) return this.request;
    this.request = http.request(
      {
        host: apiHost,
        port: apiPort,
        method: 'POST',
        path: `${base}/invocation/${this.requestId}/response`,
        agent,
        headers: {
          'Content-Type': this.contentType,
          'Lambda-Runtime-Function-Response-Mode': 'streaming',
          'Transfer-Encoding': 'chunked',
          Trailer: ERROR_TRAILERS,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => this.resolveAnswer({ status: res.statusCode }));
      },
    );
    this.request.on('error', (error) => this.rejectAnswer(error));
    return this.request;
  }

  _write(chunk, encoding, callback) {
    this.open().write(chunk, encoding, callback);
  }

  _final(callback) {
    const request = this.open();
    if (this.failure) {
      request.addTrailers({
        'Lambda-Runtime-Function-Error-Type': this.failure.errorType,
        'Lambda-Runtime-Function-Error-Body': Buffer.from(JSON.stringify(this.failure)).toString('base64'),
      });
    }
    request.end(callback);
  }

  // The handler failed after (or before) writing: the error goes in the
  // trailers, after whatever was written. Once the stream has ended the
  // answer stands as sent.
  fail(error) {
    const doc = errorDocument(error);
    console.error(`${doc.errorType}: ${doc.errorMessage}`);
    if (this.writableEnded) return;
    this.failure = doc;
    this.end();
  }
}

globalThis.awslambda = {
  streamifyResponse(handler) {
    handler[STREAMING] = 'response';
    return handler;
  },
  HttpResponseStream: class HttpResponseStream {
    static from(stream, prelude) {
      stream.setContentType(HTTP_INTEGRATION);
      stream.write(JSON.stringify(prelude ?? {}));
      stream.write(new Uint8Array(8));
      return stream;
    }
  },
};

async function runStreamingHandler(handler, event, context, requestId) {
  const stream = new ResponseStream(requestId);
  try {
    await handler(event, stream, context);
    if (!stream.writableEnded) stream.end();
  } catch (error) {
    stream.fail(error);
  }
  return stream.answer;
}

async function loadHandler() {
  const spec = process.env._HANDLER || '';
  const root = process.env.LAMBDA_TASK_ROOT;
  const dot = spec.lastIndexOf('.');
  if (dot <= 0) throw new MalformedHandlerName(`Bad handler ${spec}`);
  const modulePath = spec.slice(0, dot);
  const handlerPath = spec.slice(dot + 1);
  let file;
  for (const ext of ['.js', '.mjs', '.cjs']) {
    const candidate = path.resolve(root, modulePath + ext);
    if (fs.existsSync(candidate)) {
      file = candidate;
      break;
    }
  }
  if (!file) {
    throw new ImportModuleError(`Error: Cannot find module '${modulePath}'`);
  }
  let mod;
  try {
    mod = await import(pathToFileURL(file).href);
  } catch (error) {
    if (error instanceof SyntaxError) {
      const wrapped = new Error(error.message);
      wrapped.name = 'Runtime.UserCodeSyntaxError';
      wrapped.stack = error.stack;
      throw wrapped;
    }
    throw error;
  }
  let handler = mod;
  for (const part of handlerPath.split('.')) {
    handler = handler?.[part] ?? handler?.default?.[part];
  }
  if (typeof handler !== 'function') {
    throw new HandlerNotFound(`${spec} is undefined or not exported`);
  }
  return handler;
}

function makeContext(headers) {
  const deadline = Number(headers['lambda-runtime-deadline-ms']);
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: headers['lambda-runtime-aws-request-id'],
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  if (headers['lambda-runtime-client-context']) {
    context.clientContext = JSON.parse(headers['lambda-runtime-client-context']);
  }
  if (headers['lambda-runtime-cognito-identity']) {
    context.identity = JSON.parse(headers['lambda-runtime-cognito-identity']);
  }
  return context;
}

// Runs the handler; resolves with {ok, value} or {ok: false, error}.
function runHandler(handler, event, context) {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome) => {
      if (!settled) {
        settled = true;
        resolve(outcome);
      }
    };
    const callback = (error, value) => settle(error ? { ok: false, error } : { ok: true, value });
    context.done = callback;
    context.succeed = (value) => callback(null, value);
    context.fail = (error) => callback(error ?? new Error('handled'));
    try {
      const returned = handler(event, context, callback);
      if (returned && typeof returned.then === 'function') {
        returned.then(
          (value) => settle({ ok: true, value }),
          (error) => settle({ ok: false, error }),
        );
      } else if (handler.length < 3) {
        settle({ ok: true, value: returned });
      }
    } catch (error) {
      settle({ ok: false, error });
    }
  });
}

let inFlight;

async function postError(urlPath, error) {
  const doc = errorDocument(error);
  console.error(`${doc.errorType}: ${doc.errorMessage}`);
  await call('POST', urlPath, JSON.stringify(doc), {
    'Content-Type': 'application/json',
    'Lambda-Runtime-Function-Error-Type': doc.errorType,
  });
}

process.on('uncaughtException', async (error) => {
  try {
    if (inFlight) await postError(`/invocation/${inFlight}/error`, error);
  } finally {
    process.exit(129);
  }
});
process.on('unhandledRejection', async (reason) => {
  try {
    if (inFlight) await postError(`/invocation/${inFlight}/error`, reason);
  } finally {
    process.exit(128);
  }
});

async function main() {
  let handler;
  try {
    handler = await loadHandler();
  } catch (error) {
    await postError('/init/error', error);
    process.exit(1);
  }
  for (;;) {
    const next = await call('GET', '/invocation/next');
    if (next.status !== 200) process.exit(1);
    const requestId = next.headers['lambda-runtime-aws-request-id'];
    currentRequestId = requestId;
    inFlight = requestId;
    if (next.headers['lambda-runtime-trace-id']) {
      process.env._X_AMZN_TRACE_ID = next.headers['lambda-runtime-trace-id'];
    }
    let event;
    try {
      event = JSON.parse(next.body);
    } catch {
      event = next.body;
    }
    let answer;
    if (handler[STREAMING] === 'response') {
      answer = await runStreamingHandler(handler, event, makeContext(next.headers), requestId);
      inFlight = undefined;
      if (answer.status < 200 || answer.status > 299) process.exit(1);
      continue;
    }
    const outcome = await runHandler(handler, event, makeContext(next.headers));
    if (outcome.ok) {
      const body = JSON.stringify(outcome.value === undefined ? null : outcome.value);
      answer = await call('POST', `/invocation/${requestId}/response`, body, {
        'Content-Type': 'application/json',
      });
    } else {
      await postError(`/invocation/${requestId}/error`, outcome.error);
      answer = { status: 202 };
    }
    inFlight = undefined;
    if (answer.status < 200 || answer.status > 299) process.exit(1);
  }
}

main().catch((error) => {
  process.stderr.write(`runtime client failed: ${error && error.stack}\n`);
  process.exit(1);
});
