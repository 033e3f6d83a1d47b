/** Signals during a build: every step gives way at once, a second signal exits at once. */
import { EventEmitter } from 'node:events';
import { Interrupts } from './interrupts';
import { InterruptedError } from '../errors';

function source(): EventEmitter & { exits: number[]; exit(code: number): void } {
  const exits: number[] = [];
  return Object.assign(new EventEmitter(), { exits, exit: (code: number) => void exits.push(code) });
}

describe('Interrupts', () => {
  it('handles SIGINT, SIGTERM and SIGHUP, and lets go of them when disposed', () => {
    const signals = source();
    const interrupts = new Interrupts(signals);
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) expect(signals.listenerCount(signal)).toBe(1);
    interrupts.dispose();
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) expect(signals.listenerCount(signal)).toBe(0);
  });

  it('makes a step that never ends give way as soon as a signal arrives, and runs the cleanup once', async () => {
    const signals = source();
    const interrupts = new Interrupts(signals);
    let cleanups = 0;
    interrupts.onInterrupt(async () => void cleanups++);
    const endless = interrupts.race(new Promise<never>(() => undefined));
    signals.emit('SIGHUP');
    await expect(endless).rejects.toBeInstanceOf(InterruptedError);
    await expect(interrupts.race(Promise.resolve(1))).rejects.toThrow(/interrupted by SIGHUP/);
    expect(cleanups).toBe(1);
    expect(signals.exits).toEqual([]);
    interrupts.dispose();
  });

  it('passes a step result through when no signal came, and a failed step fails as it is', async () => {
    const interrupts = new Interrupts(source());
    await expect(interrupts.race(Promise.resolve('ok'))).resolves.toBe('ok');
    await expect(interrupts.race(Promise.reject(new Error('engine gone')))).rejects.toThrow('engine gone');
    interrupts.dispose();
  });

  it('exits with 130 on the second signal, after the last words, without waiting for the cleanup', () => {
    const signals = source();
    const interrupts = new Interrupts(signals);
    const words: string[] = [];
    interrupts.onInterrupt(() => new Promise<void>(() => undefined)); // a cleanup that hangs
    interrupts.onAbort((signal) => words.push(`bye on ${signal}`));
    signals.emit('SIGINT');
    expect(signals.exits).toEqual([]);
    signals.emit('SIGTERM');
    expect(words).toEqual(['bye on SIGTERM']);
    expect(signals.exits).toEqual([130]);
    interrupts.dispose();
  });
});
