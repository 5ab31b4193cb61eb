using System.Globalization;
using System.Text;

namespace Autonomic.Backends.Functions;

/// <summary>Appends the stderr lines of every worker of one function to <c>fn-NAME.log</c>, one line each, stamped.</summary>
internal sealed class FunctionLog(string path, TimeProvider time) : IDisposable
{
    private readonly Lock _lock = new();
    private StreamWriter? _writer;

    public string Path => path;

    public void Append(int version, int pid, string line)
    {
        var stamp = time.GetUtcNow().ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
        lock (_lock)
        {
            try
            {
                _writer ??= Open();
                _writer.WriteLine($"{stamp} v{version} pid={pid} {line}");
            }
            catch (IOException)
            {
                // A full or vanished log directory must not fail invocations.
                _writer?.Dispose();
                _writer = null;
            }
        }
    }

    private StreamWriter Open()
    {
        System.IO.Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        return new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true };
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _writer?.Dispose();
            _writer = null;
        }
    }
}
