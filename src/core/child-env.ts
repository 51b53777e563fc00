/**
 * The whole environment a helper tool child (gpiomon, gpioset, id) gets: the search path and a
 * fixed locale, so its output parses the same everywhere. Nothing else is inherited, so no API
 * key can leak into it. (Audio children need ALSA's config variables: audio/child-env.ts.)
 */
export function toolChildEnv(path: string | undefined = process.env.PATH): NodeJS.ProcessEnv {
  return { PATH: path ?? '/usr/local/bin:/usr/bin:/bin', LC_ALL: 'C' };
}
