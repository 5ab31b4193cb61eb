using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Autonomic.Workloads;

/// <summary>
/// Entry point of <c>autonomic-workload</c>: a web service or worker with fault hooks whose start-up is kept
/// short, because restart downtime measured against other supervisors includes it.
/// </summary>
internal static class Program
{
    private static readonly Lock OutputLock = new();

    public static async Task<int> Main(string[] args)
    {
        WorkloadOptions options;
        try
        {
            options = WorkloadOptions.Parse(args, Environment.GetEnvironmentVariable);
        }
        catch (FormatException ex)
        {
            await Console.Error.WriteLineAsync("autonomic-workload: " + ex.Message);
            return 2;
        }

        if (options.ShowHelp)
        {
            Console.WriteLine(WorkloadOptions.Usage);
            return 0;
        }

        using var shutdown = new CancellationTokenSource();
        void OnSignal(PosixSignalContext context)
        {
            // Cancel the default termination so Main unwinds and returns 0.
            context.Cancel = true;
            shutdown.Cancel();
        }

        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);

        var faults = new FaultState();
        Socket? listener = null;
        if (options.Port is { } port)
        {
            try
            {
                listener = HttpServer.Inherited() ?? HttpServer.Listen(options.Host, port);
            }
            catch (Exception ex) when (ex is SocketException or FormatException)
            {
                await Console.Error.WriteLineAsync($"autonomic-workload: cannot listen on {options.Host}:{port}: {ex.Message}");
                return 1;
            }

            var endpoints = new Endpoints(options, faults, Log);
            _ = new HttpServer(listener, endpoints.HandleAsync, faults).RunAsync(shutdown.Token);
            int bound = ((IPEndPoint)listener.LocalEndPoint!).Port;
            Log($"listening on {options.Host}:{bound} pid={Environment.ProcessId}");
        }

        Task? worker = options.Mode == WorkloadMode.Worker
            ? Task.Run(() => WorkLoopAsync(options.WorkIntervalMs, shutdown.Token))
            : null;
        if (worker is not null)
        {
            Log($"worker started pid={Environment.ProcessId} interval={options.WorkIntervalMs}ms");
        }

        try
        {
            await Task.Delay(Timeout.Infinite, shutdown.Token);
        }
        catch (OperationCanceledException)
        {
        }

        listener?.Dispose();
        Log("stopping on signal");
        return 0;
    }

    /// <summary>Writes one line to stdout; the lock keeps lines from concurrent threads whole.</summary>
    public static void Log(string line)
    {
        lock (OutputLock)
        {
            Console.Out.WriteLine(line);
        }
    }

    private static async Task WorkLoopAsync(int intervalMs, CancellationToken cancel)
    {
        long batch = 0;
        ulong checksum = 17;
        try
        {
            while (!cancel.IsCancellationRequested)
            {
                for (int i = 0; i < 50_000; i++)
                {
                    checksum = (checksum * 31) ^ (ulong)i;
                }

                batch++;
                if (batch % 25 == 1)
                {
                    Log($"worker batch {batch} done checksum={checksum & 0xffff:x4}");
                }

                await Task.Delay(intervalMs, cancel);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
