#!/usr/bin/python3
"""Run many targetcli commands in ONE python process, failing loudly.

Usage: targetcli-batch.py [-k] [CMD ...]      (no CMD: read commands from stdin)

One command per line; blank lines and lines starting with '#' are ignored.
Stops at the first failing command and exits 1 (with -k: runs all commands,
exits 1 if any failed). A command fails when it raises, or when it logs an
error through configshell (some targetcli commands only log and return).

Unlike `targetcli < file` (which exits 0 even when commands fail), the exit
status is trustworthy. Preferences are fixed for scripting: no default
0.0.0.0:3260 portal on iSCSI TPG creation (create the portal you want), no
save on exit, no colours. Must run with /usr/bin/python3 (rtslib_fb, gi).
"""
import importlib.machinery
import importlib.util
import os
import sys
import time

os.environ.setdefault("TARGETCLI_HOME", "/run/e2e-targetcli")


def load_targetcli_main():
    # /usr/bin/targetcli defines the TargetCLI shell class (with its default
    # preferences) but is a script, not a module: load it without running main().
    loader = importlib.machinery.SourceFileLoader("targetcli_main", "/usr/bin/targetcli")
    spec = importlib.util.spec_from_loader("targetcli_main", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def main(argv):
    keep_going = False
    if argv and argv[0] == "-k":
        keep_going = True
        argv = argv[1:]
    if argv:
        lines = argv
    else:
        lines = sys.stdin.read().splitlines()
    cmds = [l.strip() for l in lines if l.strip() and not l.strip().startswith("#")]

    t0 = time.monotonic()
    tmain = load_targetcli_main()
    from targetcli import UIRoot

    # Silence "Could not load preferences file" (fresh TARGETCLI_HOME).
    # configshell's console keeps its own reference to stdout: redirect fd 1.
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        shell = tmain.TargetCLI(os.environ["TARGETCLI_HOME"])
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
    shell.prefs["auto_add_default_portal"] = False
    shell.prefs["auto_save_on_exit"] = False
    shell.prefs["color_mode"] = False
    shell.prefs["auto_use_daemon"] = False
    shell.prefs["auto_enable_tpgt"] = True
    shell.prefs["auto_add_mapped_luns"] = True

    errors = []
    orig_error = shell.log.error

    def logged_error(msg):
        errors.append(str(msg))
        orig_error(msg)

    shell.log.error = logged_error

    root = UIRoot(shell, as_root=True)
    root.refresh()

    failed = 0
    for cmd in cmds:
        print("targetcli> %s" % cmd, flush=True)
        n_err = len(errors)
        try:
            shell.run_cmdline(cmd)
        except Exception as e:  # RTSLibError, ExecutionError, parse errors...
            errors.append("%s: %s" % (type(e).__name__, e))
            print("targetcli-batch: ERROR in '%s': %s: %s" % (cmd, type(e).__name__, e),
                  file=sys.stderr, flush=True)
        if len(errors) > n_err:
            failed += 1
            if not keep_going:
                print("targetcli-batch: FAILED at '%s' (%s)" % (cmd, errors[-1]),
                      file=sys.stderr, flush=True)
                sys.stdout.flush()
                return 1
    sys.stdout.flush()
    if failed:
        print("targetcli-batch: %d command(s) failed" % failed, file=sys.stderr)
        return 1
    print("targetcli-batch: %d command(s) OK in %.1fs" % (len(cmds), time.monotonic() - t0),
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
