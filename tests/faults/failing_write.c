/* An LD_PRELOAD shim that makes writes to files under one folder fail, as a full disk does:
 *   FAULT_PATH=/some/folder      only file descriptors whose path starts with this are affected
 *   FAULT_WRITE_AFTER=N          after N bytes in all (counted over those files) write/pwrite/writev give ENOSPC,
 *                                the write that crosses N putting only the bytes up to N (a short write)
 *   FAULT_FSYNC=1                fsync/fdatasync of those files give EIO
 * Built by tests/faults/test_write_faults.sh (cc -shared -fPIC ... -ldl). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static long long written_so_far = 0;

static int affected(int fd) {
  const char* prefix = getenv("FAULT_PATH");
  if (prefix == NULL || *prefix == '\0') return 0;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
  char link[64], target[PATH_MAX];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t n = readlink(link, target, sizeof target - 1);
  if (n <= 0) return 0;
  target[n] = '\0';
  return strncmp(target, prefix, strlen(prefix)) == 0;
}

/* How many of `size` bytes may still be written; -1 (errno ENOSPC) when none. */
static ssize_t allowance(int fd, size_t size) {
  const char* after = getenv("FAULT_WRITE_AFTER");
  if (after == NULL || !affected(fd)) return (ssize_t)size;
  const long long limit = atoll(after);
  if (written_so_far >= limit) {
    errno = ENOSPC;
    return -1;
  }
  long long left = limit - written_so_far;
  return (ssize_t)((long long)size < left ? (long long)size : left);
}

ssize_t write(int fd, const void* data, size_t size) {
  static ssize_t (*real)(int, const void*, size_t) = NULL;
  if (real == NULL) real = (ssize_t(*)(int, const void*, size_t))dlsym(RTLD_NEXT, "write");
  const ssize_t allowed = allowance(fd, size);
  if (allowed < 0) return -1;
  const ssize_t put = real(fd, data, (size_t)allowed);
  if (put > 0 && affected(fd)) written_so_far += put;
  return put;
}

ssize_t pwrite(int fd, const void* data, size_t size, off_t offset) {
  static ssize_t (*real)(int, const void*, size_t, off_t) = NULL;
  if (real == NULL) real = (ssize_t(*)(int, const void*, size_t, off_t))dlsym(RTLD_NEXT, "pwrite");
  const ssize_t allowed = allowance(fd, size);
  if (allowed < 0) return -1;
  const ssize_t put = real(fd, data, (size_t)allowed, offset);
  if (put > 0 && affected(fd)) written_so_far += put;
  return put;
}

ssize_t pwrite64(int fd, const void* data, size_t size, off_t offset) { return pwrite(fd, data, size, offset); }

ssize_t writev(int fd, const struct iovec* iov, int count) {
  /* Written one piece at a time through write() above, so the byte budget holds. */
  ssize_t total = 0;
  for (int i = 0; i < count; ++i) {
    const ssize_t put = write(fd, iov[i].iov_base, iov[i].iov_len);
    if (put < 0) return total > 0 ? total : -1;
    total += put;
    if ((size_t)put < iov[i].iov_len) break;
  }
  return total;
}

static int fsync_fails(int fd) {
  const char* flag = getenv("FAULT_FSYNC");
  return flag != NULL && strcmp(flag, "1") == 0 && affected(fd);
}

int fsync(int fd) {
  static int (*real)(int) = NULL;
  if (real == NULL) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  if (fsync_fails(fd)) {
    errno = EIO;
    return -1;
  }
  return real(fd);
}

int fdatasync(int fd) {
  static int (*real)(int) = NULL;
  if (real == NULL) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  if (fsync_fails(fd)) {
    errno = EIO;
    return -1;
  }
  return real(fd);
}
