// Package reload is the hot-reload loop shared by what a running worker
// re-reads from disk (the rule manager, the MSP registry watcher): reload
// on SIGHUP and whenever a poll finds the files changed.
//
// It polls rather than using inotify because the files often live on a
// Kubernetes ConfigMap volume, whose atomic symlink swaps file watchers
// miss, and because a poll every few seconds costs nothing.
package reload
