package handler

import "syscall"

// volumeSpace returns the total and usable bytes of the file system holding
// dir, as Java's FileStore.getTotalSpace and getUsableSpace (which count the
// blocks available to an unprivileged user); -1 for both if it cannot be
// read.
func volumeSpace(dir string) (total, usable int64) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return -1, -1
	}
	bs := int64(st.Frsize)
	if bs == 0 {
		bs = int64(st.Bsize)
	}
	return int64(st.Blocks) * bs, int64(st.Bavail) * bs
}
