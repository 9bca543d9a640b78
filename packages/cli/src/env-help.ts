import { CONFIG_FIELDS, envNameOf } from './config-fields.js';

/** The configuration reference printed by `tessera serve --help`, from the one field table. */
export const ENV_HELP = [
  'Configuration (config file key / environment variable, default):',
  ...CONFIG_FIELDS.map((field) => {
    const fallback =
      field.defaultValue === undefined ? '' : ` (default ${JSON.stringify(field.defaultValue)})`;
    return (
      `  ${field.path.padEnd(29)} ${envNameOf(field.path).padEnd(38)}${fallback}`.trimEnd() +
      `\n      ${field.description}`
    );
  }),
  '  TESSERA_CONFIG: path of the config file; TESSERA_DEBUG=1: stack traces on errors.',
].join('\n');
