import { connect } from 'node:net';
import { PttError } from '../core/errors.js';

/** Sends one command line to the control socket and resolves with the answer line. */
export function sendControlCommand(socketPath: string, line: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let buffer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new PttError('CONTROL_TIMEOUT', `no answer from the daemon on ${socketPath} within ${timeoutMs} ms`, { context: { socketPath } }),
      );
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.once('connect', () => socket.write(`${line}\n`));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const nl = buffer.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      socket.end();
      resolve(buffer.slice(0, nl));
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(connectError(socketPath, err));
    });
    socket.once('close', () => {
      clearTimeout(timer);
      reject(new PttError('CONTROL_CLOSED', `the daemon closed ${socketPath} without answering`, { context: { socketPath } }));
    });
  });
}

function connectError(socketPath: string, err: NodeJS.ErrnoException): PttError {
  const context = { socketPath, errno: err.code };
  switch (err.code) {
    case 'ENOENT':
    case 'ECONNREFUSED':
      return new PttError('CONTROL_NO_DAEMON', `no daemon is listening on ${socketPath}`, {
        context,
        hint: 'start it (sudo systemctl start realtime-ptt) or point at its socket with --socket PATH or --config FILE',
      });
    case 'EACCES':
    case 'EPERM':
      return new PttError('CONTROL_DENIED', `permission denied on ${socketPath}`, {
        context,
        hint: "add yourself to the socket's group (ls -l the socket; sudo usermod -aG <group> $USER, then log in again) or use sudo",
      });
    default:
      return new PttError('CONTROL_CONNECT', `cannot reach the daemon on ${socketPath}: ${err.message}`, { context });
  }
}
