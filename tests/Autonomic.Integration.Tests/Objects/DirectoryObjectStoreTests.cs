using Autonomic.Backends.Objects;
using Autonomic.Core.Abstractions;

namespace Autonomic.Integration.Tests.Objects;

/// <summary>The contract against the directory store in a fresh temporary directory, plus what only files show.</summary>
public sealed class DirectoryObjectStoreTests : ObjectStoreContract
{
    private readonly string _parent = Path.Combine(Path.GetTempPath(), "autonomic-objects-" + Guid.NewGuid().ToString("N"));

    private string Root => Path.Combine(_parent, "store");

    protected override Task<IObjectStore> CreateStoreAsync() => Task.FromResult<IObjectStore>(new DirectoryObjectStore(Root));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(_parent, recursive: true);
    }

    [Fact]
    public async Task Refused_keys_leave_no_file_anywhere_near_the_store()
    {
        foreach (string key in new[] { "../x", "../../x", "a/../../x", "/tmp/x" })
        {
            await Assert.ThrowsAsync<ArgumentException>(() => Store.PutAsync(key, new MemoryStream("x"u8.ToArray())));
        }

        Assert.Equal(["store"], Directory.EnumerateFileSystemEntries(_parent).Select(Path.GetFileName));
        Assert.Empty(Directory.EnumerateFiles(Root, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Objects_are_files_with_a_header_and_temporary_files_do_not_stay()
    {
        await Store.PutAsync("photos/cat.jpg", new MemoryStream("meow"u8.ToArray()), "image/jpeg");
        string file = Path.Combine(Root, "objects", "photos.d", "cat.jpg.obj");
        Assert.True(File.Exists(file));
        byte[] bytes = await File.ReadAllBytesAsync(file);
        Assert.Equal(DirectoryObjectStore.HeaderSize + 4, bytes.Length);
        Assert.Equal("meow"u8.ToArray(), bytes[DirectoryObjectStore.HeaderSize..]);
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(Root, "tmp")));

        await Assert.ThrowsAsync<InvalidDataException>(() => Store.PutAsync("photos/dog.jpg", new MemoryStream("woof"u8.ToArray()), expectedSha256: new string('1', 64)));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(Root, "tmp")));

        Assert.True(await Store.DeleteAsync("photos/cat.jpg"));
        Assert.False(Directory.Exists(Path.Combine(Root, "objects", "photos.d")));
    }

    [Fact]
    public async Task A_failing_source_stream_leaves_the_old_object_and_no_temporary_file()
    {
        await Store.PutAsync("k", new MemoryStream("old"u8.ToArray()));
        await Assert.ThrowsAsync<IOException>(() => Store.PutAsync("k", new FailingStream(1_000_000)));
        Assert.Equal("old"u8.ToArray(), (await ReadAllAsync(Store, "k")).Data);
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(Root, "tmp")));
    }

    [Fact]
    public async Task A_reader_keeps_the_version_it_opened_while_a_writer_replaces_it()
    {
        await Store.PutAsync("k", new MemoryStream(Enumerable.Repeat((byte)'a', 100_000).ToArray()));
        var got = await Store.GetAsync("k");
        await using var content = got!.Value.Content;
        await Store.PutAsync("k", new MemoryStream("new"u8.ToArray()));
        await Store.DeleteAsync("k");
        using var copy = new MemoryStream();
        await content.CopyToAsync(copy);
        Assert.Equal(100_000, copy.Length);
        Assert.All(copy.ToArray(), b => Assert.Equal((byte)'a', b));
    }

    /// <summary>Gives some bytes, then fails like a dropped connection.</summary>
    private sealed class FailingStream(int failAfter) : Stream
    {
        private int _given;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _given; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_given >= failAfter)
            {
                throw new IOException("connection reset");
            }

            int n = Math.Min(count, failAfter - _given);
            buffer.AsSpan(offset, n).Fill((byte)'z');
            _given += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
