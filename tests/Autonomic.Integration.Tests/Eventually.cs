using System.Diagnostics;

namespace Autonomic.Integration.Tests;

/// <summary>Waits on a condition with a deadline: the suite's one replacement for fixed sleeps.</summary>
internal static class Eventually
{
    public static Task WaitAsync(Func<bool> condition, TimeSpan timeout, string? what = null) =>
        WaitAsync(() => Task.FromResult(condition()), timeout, what);

    public static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout, string? what = null)
    {
        var watch = Stopwatch.StartNew();
        while (!await condition())
        {
            if (watch.Elapsed > timeout)
            {
                throw new TimeoutException($"timed out after {timeout.TotalSeconds:0.#} s waiting{(what is null ? "" : " for " + what)}");
            }

            await Task.Delay(10);
        }
    }

    /// <summary>Polls until <paramref name="probe"/> gives a value, and returns it.</summary>
    public static async Task<T> WaitAsync<T>(Func<Task<T?>> probe, TimeSpan timeout, string what)
        where T : class
    {
        T? value = null;
        await WaitAsync(async () => (value = await probe()) is not null, timeout, what);
        return value!;
    }

    /// <summary>Gives a task that should stay pending a fair chance to complete; true when it did.</summary>
    public static async Task<bool> CompletesWithinAsync(Task task, TimeSpan window) =>
        await Task.WhenAny(task, Task.Delay(window)) == task;
}
