import { describe, expect, it } from 'vitest';
import { UndoList } from './undo.js';

describe('UndoList', () => {
  it('runs every step newest first, past failures, and reports them', async () => {
    const ran: string[] = [];
    const undo = new UndoList();
    undo.push('a', () => void ran.push('a'));
    undo.push('b', () => {
      ran.push('b');
      throw new Error('boom');
    });
    undo.push('c', async () => void ran.push('c'));
    expect(await undo.rollback()).toEqual(['b: boom']);
    expect(ran).toEqual(['c', 'b', 'a']);
    expect(await undo.rollback()).toEqual([]);
  });

  it('forgets the steps on commit', async () => {
    const undo = new UndoList();
    undo.push('a', () => {
      throw new Error('must not run');
    });
    undo.commit();
    expect(await undo.rollback()).toEqual([]);
  });
});
