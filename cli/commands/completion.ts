import { Argument, type Command } from 'commander';
import type { CliContext } from '../context.js';
import { example, type CommandKit } from '../program.js';

interface Node {
  readonly path: string;
  readonly subs: string[];
  readonly options: string[];
}

function walk(cmd: Command, path: string, out: Node[]): void {
  const subs = cmd.commands.map((c) => c.name());
  const options = cmd.options.flatMap((o) => [o.long, o.short].filter((x): x is string => !!x));
  out.push({ path, subs, options: [...options, '--help'] });
  for (const c of cmd.commands) walk(c, path ? `${path} ${c.name()}` : c.name(), out);
}

/** A bash completion script for the command tree (zsh loads it through bashcompinit). */
export function bashCompletion(program: Command): string {
  const nodes: Node[] = [];
  walk(program, '', nodes);
  const cases = (pick: (n: Node) => string[]): string =>
    nodes.map((n) => `    ${JSON.stringify(n.path)}) echo ${JSON.stringify(pick(n).join(' '))} ;;`).join('\n');
  return `# trust completion (bash). Load with: source <(trust completion bash)
_trust_subs() {
  case "$1" in
${cases((n) => n.subs)}
  esac
}
_trust_opts() {
  case "$1" in
${cases((n) => n.options)}
  esac
}
_trust() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" w i subs
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    subs=" $(_trust_subs "$path") "
    if [[ "$subs" == *" $w "* ]]; then path="\${path:+$path }$w"; fi
  done
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$(_trust_opts "$path") $(_trust_opts "")" -- "$cur") )
  else
    COMPREPLY=( $(compgen -W "$(_trust_subs "$path")" -- "$cur") )
    if [[ \${#COMPREPLY[@]} -eq 0 ]]; then COMPREPLY=( $(compgen -f -- "$cur") ); fi
  fi
}
complete -F _trust trust
`;
}

/** `trust completion bash|zsh`. */
export function register(program: Command, kit: CommandKit): void {
  example(
    program
      .command('completion')
      .description('print a shell completion script')
      .addArgument(new Argument('<shell>', 'shell').choices(['bash', 'zsh']))
      .action(
        kit.action(async (ctx: CliContext, _opts, shell: 'bash' | 'zsh') => {
          const script = bashCompletion(program);
          if (shell === 'bash') ctx.io.stdout.write(script);
          else ctx.io.stdout.write(`#compdef trust\n# trust completion (zsh). Load with: source <(trust completion zsh)\nautoload -U +X bashcompinit && bashcompinit\n${script.split('\n').slice(1).join('\n')}`);
        }),
      ),
    'source <(trust completion bash)',
  );
}
