namespace Autonomic.Integration.Tests.Workloads;

/// <summary>Waits for a condition with a deadline instead of sleeping a fixed time.</summary>
internal static class WorkloadEventually
{
    public static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan deadline, string what)
    {
        using var timeout = new CancellationTokenSource(deadline);
        while (true)
        {
            if (await condition())
            {
                return;
            }

            if (timeout.IsCancellationRequested)
            {
                throw new TimeoutException($"not true within {deadline.TotalSeconds}s: {what}");
            }

            await Task.Delay(20, CancellationToken.None);
        }
    }

    public static Task WaitAsync(Func<bool> condition, TimeSpan deadline, string what) =>
        WaitAsync(() => Task.FromResult(condition()), deadline, what);
}
