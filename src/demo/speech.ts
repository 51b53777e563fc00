/**
 * Speech-like sound for the demo's microphone: a voiced buzz (120 Hz with falling harmonics,
 * shaped by two vowel formants that change per syllable) in syllables of about 200 ms with
 * short pauses. Not words, but it has the level and rhythm of a voice, so level meters,
 * voice activity detection and the simulator all treat it as someone talking.
 */
const RATE = 24_000;

export function synthesizeSpeech(ms: number): Buffer {
  const samples = Math.round((ms * RATE) / 1000);
  const out = Buffer.alloc(samples * 2);
  // [F1, F2] of a, e, i, o, u: the syllables cycle through them.
  const vowels = [
    [730, 1090],
    [530, 1840],
    [270, 2290],
    [570, 840],
    [300, 870],
  ];
  // A room is never digitally silent: a faint hiss (about -80 dBFS) under everything, so a pause
  // is not mistaken for a muted microphone (all-zero samples).
  let seed = 1;
  const hiss = () => {
    seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
    return ((seed >>> 16) % 7) - 3;
  };
  const syllable = 0.2 * RATE;
  const pause = 0.06 * RATE;
  for (let n = 0; n < samples; n++) {
    const t = n / RATE;
    const k = Math.floor(n / (syllable + pause));
    const inSyl = n % (syllable + pause);
    if (inSyl >= syllable || k % 7 === 6) {
      out.writeInt16LE(hiss(), n * 2); // a pause after each syllable, a longer one every 7
      continue;
    }
    const [f1, f2] = vowels[k % vowels.length]!;
    const f0 = 120 + 15 * Math.sin(2 * Math.PI * 0.7 * t); // a little intonation
    let v = 0;
    for (let h = 1; h * f0 < 4000; h++) {
      const f = h * f0;
      // Harmonics near a formant are loud, the rest fall off: a vowel's colour.
      const gain = 1 / h + 1.5 / (1 + ((f - f1!) / 90) ** 2) + 0.8 / (1 + ((f - f2!) / 120) ** 2);
      v += gain * Math.sin(2 * Math.PI * f * t);
    }
    const env = Math.sin((Math.PI * inSyl) / syllable); // each syllable swells and fades
    const sample = Math.round(Math.max(-1, Math.min(1, 0.12 * v * env)) * 32760) + hiss();
    out.writeInt16LE(sample, n * 2);
  }
  return out;
}
