import { describe, expect, it } from 'vitest';
import { checkServiceUser } from '../../src/doctor/checks.js';
import { exitCodeOf, formatReport, groupsOf } from '../../src/doctor/run-doctor.js';
import { registerSecret } from '../../src/core/secrets.js';

describe('doctor checks', () => {
  it('reads group membership from the real user database', async () => {
    expect(await groupsOf('root')).toContain('root');
    expect(await groupsOf('no-such-user-ptt')).toBeUndefined();
  });

  it('the service user: missing is a warning (not installed), missing groups a failure with the usermod fix', async () => {
    expect((await checkServiceUser({ groupsOf: async () => undefined })).status).toBe('warn');
    expect(await checkServiceUser({ groupsOf: async () => ['realtime-ptt', 'audio', 'gpio'] })).toMatchObject({ status: 'ok' });
    expect(await checkServiceUser({ groupsOf: async () => ['realtime-ptt', 'audio'] })).toEqual({
      name: 'service user',
      status: 'fail',
      detail: 'realtime-ptt is not in group gpio, so it cannot open the GPIO',
      fix: 'sudo usermod -aG gpio realtime-ptt && sudo systemctl restart realtime-ptt',
    });
  });

  it('the report aligns checks, puts each fix under its failure, redacts keys, and exits 1 only on a FAIL', () => {
    registerSecret('sk-pasted-into-detail-0123456789');
    const results = [
      { name: 'config', status: 'ok' as const, detail: 'fine' },
      { name: 'api key', status: 'warn' as const, detail: 'odd: sk-pasted-into-detail-0123456789', fix: 'paste it again' },
    ];
    expect(formatReport(results)).toBe('OK    config   fine\nWARN  api key  odd: [redacted]\n               fix: paste it again\n\n0 failed, 1 warnings, 1 ok\n');
    expect(exitCodeOf(results)).toBe(0);
    expect(exitCodeOf([...results, { name: 'gpio', status: 'fail', detail: 'no' }])).toBe(1);
  });
});
