using Spectre.Console;

namespace Autonomic.Cli.Commands;

/// <summary>
/// Where commands write and what they talk through. The default writes to the process console; tests pass
/// string writers and a Spectre console built on them to capture output.
/// </summary>
public sealed class CliContext
{
    /// <summary>Rich output (tables, colours).</summary>
    public required IAnsiConsole Console { get; init; }
    /// <summary>Plain output (raw JSON, log lines), written as is.</summary>
    public required TextWriter Out { get; init; }
    /// <summary>Errors and diagnostics.</summary>
    public required TextWriter Error { get; init; }
    /// <summary>Input (stdin), for commands that read a document, e.g. <c>scale what-if</c>.</summary>
    public TextReader In { get; init; } = System.Console.In;
    /// <summary>The clock used for uptimes and ages.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
    /// <summary>How long one API request may take before the control plane counts as not answering.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Where client commands look for an API key when neither --api-key nor AUTONOMIC_API_KEY gives one.</summary>
    public string KeyFile { get; init; } = KeySource.DefaultFile();
    /// <summary>Pause between polls of <c>logs --follow</c>.</summary>
    public TimeSpan FollowInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The process console.</summary>
    public static CliContext FromProcess() =>
        // Piped or redirected output has no terminal width; 80 columns would wrap every table row.
        System.Console.IsOutputRedirected
            ? ForWriters(System.Console.Out, System.Console.Error, width: 200)
            : new()
            {
                Console = AnsiConsole.Console,
                Out = System.Console.Out,
                Error = System.Console.Error,
            };

    /// <summary>A context that writes plain text (no colours, no ANSI codes) of the given width to the writers.</summary>
    public static CliContext ForWriters(TextWriter output, TextWriter error, int width = 240)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(output),
        });
        console.Profile.Width = width;
        return new CliContext { Console = console, Out = output, Error = error };
    }
}
