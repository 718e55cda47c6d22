/**
 * What a terminal shows after `output`: a small VT100 renderer for what Syncline and its live
 * lines write (text, CR/LF, cursor up/down/column, erase in line/display, save/restore cursor;
 * colours and modes ignored). Lines do not wrap (the live lines turn autowrap off). Tests read
 * it to see what a user would see, e.g. that a message did not land on a progress line.
 */
export function renderScreen(output: string): string[] {
  const rows: string[][] = [[]];
  let row = 0;
  let col = 0;
  let saved = { row: 0, col: 0 };
  const line = () => {
    while (rows.length <= row) rows.push([]);
    return rows[row]!;
  };
  for (let i = 0; i < output.length; i++) {
    const c = output[i]!;
    if (c === '\u001b') {
      const next = output[i + 1];
      if (next === '7' || next === '8') {
        if (next === '7') saved = { row, col };
        else ({ row, col } = saved);
        i += 1;
        continue;
      }
      const csi = /^\[([?0-9;]*)([A-Za-z])/.exec(output.slice(i + 1, i + 20));
      if (!csi) continue;
      i += csi[0].length;
      const params = csi[1]!.replace('?', '');
      const n = params === '' ? undefined : Number(params.split(';')[0]);
      switch (csi[2]) {
        case 'A':
          row = Math.max(0, row - (n || 1));
          break;
        case 'B':
          row += n || 1;
          break;
        case 'G':
          col = Math.max(0, (n || 1) - 1);
          break;
        case 'H': {
          const [r, cc] = params.split(';').map((p) => Number(p) || 1);
          row = (r ?? 1) - 1;
          col = (cc ?? 1) - 1;
          break;
        }
        case 'K': {
          const l = line();
          if (!n) l.length = Math.min(l.length, col);
          else if (n === 1) for (let k = 0; k <= col && k < l.length; k++) l[k] = ' ';
          else l.length = 0;
          break;
        }
        case 'J':
          if (!n) {
            line().length = Math.min(line().length, col);
            rows.length = row + 1;
          }
          break;
      }
      continue;
    }
    if (c === '\r') col = 0;
    else if (c === '\n') row += 1;
    else if (c >= ' ') {
      const l = line();
      while (l.length < col) l.push(' ');
      l[col++] = c;
    }
  }
  return rows.map((r) => r.join('').trimEnd());
}
