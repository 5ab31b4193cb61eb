using System.CommandLine;
using Autonomic.Cli.Commands;

return await Autonomic.Cli.CliApp.RunAsync(args);

namespace Autonomic.Cli
{
    /// <summary>
    /// The <c>autonomic</c> command tree. <see cref="Build"/> gives the root command (tests invoke it in process with a
    /// <see cref="CliContext"/> that captures output); <see cref="RunAsync"/> adds the exit-code contract:
    /// 0 success, 1 failure, 2 usage error.
    /// </summary>
    public static class CliApp
    {
        /// <summary>Where a client command finds the API when neither <c>--api</c> nor <c>AUTONOMIC_API</c> says.</summary>
        public const string DefaultApi = "http://127.0.0.1:7411";

        /// <summary>Builds the root command; <paramref name="context"/> defaults to the process console.</summary>
        public static RootCommand Build(CliContext? context = null)
        {
            context ??= CliContext.FromProcess();
            var api = new Option<string>("--api")
            {
                Description = "URL of the control plane's API (env AUTONOMIC_API)",
                Recursive = true,
                DefaultValueFactory = _ => Environment.GetEnvironmentVariable("AUTONOMIC_API") is { Length: > 0 } env ? env : DefaultApi,
            };
            api.Validators.Add(r =>
            {
                var value = r.GetValueOrDefault<string>();
                if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
                {
                    r.AddError($"--api must be an http:// URL, not '{value}'");
                }
            });

            var root = new RootCommand("Autonomic: a self-healing control plane for the services on this machine") { api };
            // Bare `autonomic` shows the help; as a command was expected, it is still a usage error (exit 2).
            root.SetAction(parse =>
            {
                new System.CommandLine.Help.HelpAction().Invoke(parse);
                return 2;
            });
            var runner = new ClientRunner(context, api);
            root.Options.Add(runner.ApiKey);
            root.Subcommands.Add(StatusCommand.Create(runner));
            root.Subcommands.Add(IncidentsCommand.Create(runner));
            root.Subcommands.Add(ActionsCommand.Create(runner));
            root.Subcommands.Add(LogsCommand.Create(runner));
            root.Subcommands.Add(ChaosCommand.Create(runner));
            root.Subcommands.Add(FunctionsCommand.Create(runner));
            root.Subcommands.Add(ObjectsCommand.CreateUpload(runner));
            root.Subcommands.Add(ObjectsCommand.Create(runner));
            root.Subcommands.Add(TasksCommand.Create(runner));
            root.Subcommands.Add(SecurityCommand.Create(runner));
            root.Subcommands.Add(SecurityCommand.Audit(runner));
            root.Subcommands.Add(KeysCommand.Create(runner));
            root.Subcommands.Add(ServicesCommand.Create(runner));
            root.Subcommands.Add(ServicesCommand.CreateRestart(runner));

            root.Subcommands.Add(UpCommand.Create());
            root.Subcommands.Add(UpCommand.CreateValidate());
            root.Subcommands.Add(UpCommand.CreateAgent());
            root.Subcommands.Add(Bench.BenchCommands.Create());
            root.Subcommands.Add(DbCommand.Create(context));
            root.Subcommands.Add(DlqCommand.Create());
            root.Subcommands.Add(ScaleCommand.Create(context, null, runner));
            root.Subcommands.Add(CostCommand.Create(runner));
            root.Subcommands.Add(LoadCommand.Create(context));
            return root;
        }

        /// <summary>Parses and runs <paramref name="args"/>; a usage error prints the problem and returns 2.</summary>
        public static async Task<int> RunAsync(string[] args, CliContext? context = null, CancellationToken cancellationToken = default)
        {
            context ??= CliContext.FromProcess();
            var parse = Build(context).Parse(args);
            if (parse.Errors.Count > 0)
            {
                // System.CommandLine's own error action exits 1; usage errors are 2 here, as in most Unix tools.
                foreach (var error in parse.Errors)
                {
                    await context.Error.WriteLineAsync($"error: {error.Message}");
                }

                await context.Error.WriteLineAsync("see 'autonomic --help'");
                return 2;
            }

            var invocation = new InvocationConfiguration { Output = context.Out, Error = context.Error };
            return await parse.InvokeAsync(invocation, cancellationToken);
        }
    }
}
