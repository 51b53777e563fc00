/**
 * The whole environment a GPIO helper child (gpiomon, gpioset, gpiofind) gets: the search
 * path and a fixed locale. Nothing else is inherited, so no API key can leak into it.
 */
export function gpioChildEnv(path: string | undefined = process.env.PATH): NodeJS.ProcessEnv {
  return { PATH: path ?? '/usr/local/bin:/usr/bin:/bin', LC_ALL: 'C' };
}
