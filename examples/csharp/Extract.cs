// Extract.cs: prints the network settings report (JSON) of the guest on a disk image, read by this
// program through libregnet's read-at callback (a FileStream here; any seekable Stream will do).
//
// Build: mcs -out:Extract.exe Extract.cs Regnet.cs
// Run:   LD_LIBRARY_PATH=/path/to/prefix/lib mono Extract.exe disk.vmdk
using System;
using System.IO;
using RegnetInterop;

static class Extract
{
    static int Main(string[] args)
    {
        if (args.Length != 1)
        {
            Console.Error.WriteLine("usage: mono Extract.exe IMAGE");
            return 2;
        }
        try
        {
            using (var image = File.OpenRead(args[0]))
            {
                Console.WriteLine(Regnet.ExtractStream(image, args[0]));
            }
            return 0;
        }
        catch (RegnetException e)
        {
            Console.Error.WriteLine("regnet: {0} ({1}, status {2})", e.Message, e.Kind, e.Code);
            return 1;
        }
        catch (IOException e)
        {
            Console.Error.WriteLine("{0}: {1}", args[0], e.Message);
            return 1;
        }
    }
}
