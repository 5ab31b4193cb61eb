using System.Runtime.InteropServices;

namespace Autonomic.Workloads;

/// <summary>
/// The faults currently switched on. Read on every request, written by the /fault/* handlers; fields are
/// volatile because readers and writers run on different thread-pool threads and a stale read for one
/// request is acceptable.
/// </summary>
internal sealed class FaultState
{
    private readonly TaskCompletionSource _never = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _leakLock = new();
    private readonly List<byte[]> _leaked = [];
    private volatile int _slowMs;
    private double _errorRate;
    private volatile bool _unready;
    private volatile bool _hung;
    private CancellationTokenSource? _leakCancel;
    private long _leakedBytes;

    public int SlowMs => _slowMs;
    public double ErrorRate => Volatile.Read(ref _errorRate);
    public bool Unready => _unready;
    public bool Hung => _hung;
    public long LeakedBytes => Interlocked.Read(ref _leakedBytes);

    /// <summary>A task that never completes: awaiting it is how a hung workload stops answering.</summary>
    public Task HangForever => _never.Task;

    public void SetSlow(int ms) => _slowMs = ms;

    public void SetErrorRate(double rate) => Volatile.Write(ref _errorRate, rate);

    public void SetUnready() => _unready = true;

    /// <summary>
    /// Stops answering in-process: the accept loop and every connection wait forever before their next
    /// request, while the process stays alive, keeps its listening socket and still exits on SIGTERM.
    /// </summary>
    public void HangInProcess() => _hung = true;

    /// <summary>Freezes the whole process with SIGSTOP, like a process stuck in the kernel; only SIGCONT or SIGKILL ends it.</summary>
    public static void HangBySigStop()
    {
        const int SigStop = 19;
        _ = NativeMethods.Kill(Environment.ProcessId, SigStop);
    }

    /// <summary>Starts (or restarts at a new rate) a thread that allocates, touches and keeps memory.</summary>
    public void StartLeak(double mbPerSecond, double maxMb)
    {
        lock (_leakLock)
        {
            _leakCancel?.Cancel();
            var cancel = new CancellationTokenSource();
            _leakCancel = cancel;
            var thread = new Thread(() => LeakLoop(mbPerSecond, maxMb, cancel.Token))
            {
                IsBackground = true,
                Name = "leak",
            };
            thread.Start();
        }
    }

    /// <summary>Spins one thread at 100% for <paramref name="seconds"/>.</summary>
    public static void BurnCpu(double seconds)
    {
        var thread = new Thread(() =>
        {
            long end = Environment.TickCount64 + (long)(seconds * 1000);
            ulong x = 1;
            while (Environment.TickCount64 < end)
            {
                for (int i = 0; i < 100_000; i++)
                {
                    x = (x * 6364136223846793005UL) + 1442695040888963407UL;
                }
            }

            GC.KeepAlive(x);
        })
        {
            IsBackground = true,
            Name = "cpu",
        };
        thread.Start();
    }

    /// <summary>Clears slow, errors, unready and leak (and drops the leaked memory). A hang cannot be undone from inside.</summary>
    public void Reset()
    {
        _slowMs = 0;
        Volatile.Write(ref _errorRate, 0);
        _unready = false;
        lock (_leakLock)
        {
            _leakCancel?.Cancel();
            _leakCancel = null;
            _leaked.Clear();
            Interlocked.Exchange(ref _leakedBytes, 0);
        }

        GC.Collect();
    }

    private void LeakLoop(double mbPerSecond, double maxMb, CancellationToken cancel)
    {
        const int Chunk = 1024 * 1024;
        const int TickMs = 50;
        int pageSize = Environment.SystemPageSize;
        long maxBytes = (long)(maxMb * Chunk);
        double owed = 0;
        while (!cancel.IsCancellationRequested)
        {
            owed += mbPerSecond * Chunk * TickMs / 1000.0;
            while (owed >= Chunk && LeakedBytes + Chunk <= maxBytes)
            {
                // Fresh large arrays may be backed by untouched zero pages; writing one byte per page
                // makes the kernel commit them, so RSS really grows.
                byte[] block = GC.AllocateUninitializedArray<byte>(Chunk);
                for (int i = 0; i < block.Length; i += pageSize)
                {
                    block[i] = 1;
                }

                lock (_leakLock)
                {
                    if (cancel.IsCancellationRequested)
                    {
                        return;
                    }

                    _leaked.Add(block);
                    Interlocked.Add(ref _leakedBytes, Chunk);
                }

                owed -= Chunk;
            }

            if (LeakedBytes + Chunk > maxBytes)
            {
                owed = 0;
            }

            cancel.WaitHandle.WaitOne(TickMs);
        }
    }

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Kill(int pid, int signal);
    }
}
