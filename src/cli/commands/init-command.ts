import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { CONFIG_FILES } from '../../config/load-config.ts';
import { ConfigError } from '../../core/errors.ts';
import { CliContext } from '../cli-context.ts';
import { STARTER_ENV_EXAMPLE, starterConfig } from '../starter-config.ts';

const ENV_EXAMPLE = '.env.example';

export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description(
      'write a commented starter config (syncline.config.yaml, or syncline.config.ts with --ts) and a ' +
        '.env.example of the environment variables it reads, in the working directory',
    )
    .option('--yaml', 'a YAML config of declarative HTTP streams (the default)')
    .option('--ts', 'a TypeScript config: an HTTP stream and a custom source')
    .option('--force', 'overwrite the files if they exist')
    .action((options: { yaml?: boolean; ts?: boolean; force?: boolean }, command: Command) => {
      const ctx = CliContext.of(command);
      if (options.yaml && options.ts) throw new ConfigError('init takes --yaml or --ts, not both');
      const starter = starterConfig(options.ts ? 'ts' : 'yaml');
      const files = [starter.file, ENV_EXAMPLE];
      const existing = files.filter((file) => existsSync(resolve(file)));
      if (existing.length > 0 && !options.force) {
        throw new ConfigError(
          `${existing.join(' and ')} already exist${existing.length === 1 ? 's' : ''}; ` +
            'pass --force to overwrite, or run init in another directory',
        );
      }
      writeFileSync(resolve(starter.file), starter.text);
      writeFileSync(resolve(ENV_EXAMPLE), STARTER_ENV_EXAMPLE);
      ctx.print(
        `wrote ${starter.file} and ${ENV_EXAMPLE}. Next: set the variables of ${ENV_EXAMPLE} in the ` +
          'environment, edit the config for your API, then `npx syncline check --probe` and `npx syncline sync`',
      );
      // A config file found earlier in the search order is the one commands would load.
      const before = CONFIG_FILES.slice(0, CONFIG_FILES.indexOf(starter.file));
      const shadowing = before.find((file) => existsSync(resolve(file)));
      if (shadowing) {
        ctx.log.warn(
          { file: shadowing },
          `${shadowing} is here too, and commands load it before ${starter.file}: remove it, or pass --config ${starter.file}`,
        );
      }
    });
}
