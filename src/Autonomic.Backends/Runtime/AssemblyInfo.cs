using System.Runtime.CompilerServices;

// Lets the runtime tests force the /proc polling fallback of adoption.
[assembly: InternalsVisibleTo("Autonomic.Integration.Tests")]
