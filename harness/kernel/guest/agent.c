/*
 * vfio-agent: the guest half of the harness's kernel backend.
 *
 * It serves one request per line on a virtio-serial port (the host end is a unix socket of
 * QEMU) and
 * turns each into the VFIO system calls it names, so that the host side can drive the guest
 * kernel's vfio, vfio_iommu_type1 and vfio-pci code op by op.
 *
 * Request:  ID OP ARG...            ID decimal, numbers hex without 0x, BDFs as text
 * Answer:   ID ok VALUE...          values hex without 0x
 *           ID err ERRNO WHAT       ERRNO decimal (the kernel's), WHAT a word for humans
 *
 * Handles are the agent's own file descriptors. `reset` closes every handle, which makes the
 * kernel drop all DMA mappings, pins and interrupt setups: each scenario starts from the
 * kernel state the agent booted with.
 *
 * Scenario vaddrs are plain numbers such as 0x7f0000000000; the kernel pins real user memory
 * behind them, so `map` first backs the range with one shared memfd mapped at the requested
 * addresses (MAP_FIXED_NOREPLACE). Every range maps the same BACKING bytes of that memfd, so
 * gigabytes of mappings pin at most BACKING bytes of guest RAM.
 *
 * Static, no allocation on the request path beyond fixed tables: the agent must survive
 * anything a scenario throws at the kernel.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL
#define VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL 3
#endif

#define BACKING (64ULL << 20) /* bytes of the shared memfd behind every scenario vaddr */
#define HUGE (2ULL << 20)
#define MAX_FDS 1024
#define MAX_VECTORS 2048
#define MAX_BACKED 4096
#define LINE_MAX_LEN 512
#define LIMIT_PARAM "/sys/module/vfio_iommu_type1/parameters/dma_entry_limit"

enum kind { FREE = 0, CONTAINER, GROUP, DEVICE };

struct handle {
	enum kind kind;
	uint64_t cfg_offset;   /* DEVICE: offset of the config region in the device fd */
	int *vectors;          /* DEVICE: eventfds of the MSI-X vectors, while enabled */
	unsigned nvectors;
};

static struct handle handles[MAX_FDS];
static int memfd = -1;
static int hugefd = -1; /* the same, in 2 MiB pages (-1 when the guest has none) */
static int port = -1;

/* Ranges [start, end) of agent memory backed for scenario vaddrs, sorted, disjoint. */
static struct { uint64_t start, end; } backed[MAX_BACKED];
static unsigned nbacked;

/* -- answers ------------------------------------------------------------------------------ */

static char out[8192];
static size_t outlen;
static size_t payload; /* where the answer starts, after the request's id */

static void put(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out + outlen, sizeof(out) - outlen, fmt, ap);
	va_end(ap);
	if (n > 0)
		outlen += (size_t)n < sizeof(out) - outlen ? (size_t)n : sizeof(out) - outlen - 1;
}

static void flush_answer(void)
{
	put("\n");
	size_t done = 0;
	while (done < outlen) {
		ssize_t n = write(port, out + done, outlen - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			exit(2); /* the host is gone: nothing left to serve */
		done += (size_t)n;
	}
	outlen = 0;
}

/* Every failing system call ends its request through here, with the kernel's errno. */
static int fail(const char *what)
{
	int e = errno;
	outlen = payload;
	put("err %d %s", e, what);
	return -1;
}

/* -- arguments ---------------------------------------------------------------------------- */

static char *args[32];
static int nargs;

static int number(int i, uint64_t *value)
{
	char *end;
	if (i >= nargs) {
		errno = EINVAL;
		return -1;
	}
	errno = 0;
	*value = strtoull(args[i], &end, 16);
	if (errno || *end || end == args[i]) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static int handle_arg(int i, enum kind kind, int *fd)
{
	uint64_t v;
	if (number(i, &v) < 0)
		return -1;
	if (v >= MAX_FDS || handles[v].kind != kind) {
		errno = EBADF;
		return -1;
	}
	*fd = (int)v;
	return 0;
}

static int track(int fd, enum kind kind)
{
	if (fd >= MAX_FDS) {
		close(fd);
		errno = EMFILE;
		return -1;
	}
	memset(&handles[fd], 0, sizeof(handles[fd]));
	handles[fd].kind = kind;
	return fd;
}

static void disable_vectors(struct handle *h)
{
	for (unsigned i = 0; i < h->nvectors; i++)
		close(h->vectors[i]);
	free(h->vectors);
	h->vectors = NULL;
	h->nvectors = 0;
}

static void release(int fd)
{
	disable_vectors(&handles[fd]);
	handles[fd].kind = FREE;
	close(fd);
}

/* -- guest memory behind scenario vaddrs ----------------------------------------------------- */

/* Record [start, end) as backed; a range touching its neighbours joins them (the ranges are
 * only bookkeeping: the mappings themselves stay separate). */
static int remember(uint64_t start, uint64_t end)
{
	unsigned i = 0;
	while (i < nbacked && backed[i].start < start)
		i++;
	if (i > 0 && backed[i - 1].end == start) {
		backed[i - 1].end = end;
		if (i < nbacked && backed[i].start == end) {
			backed[i - 1].end = backed[i].end;
			memmove(&backed[i], &backed[i + 1], (nbacked - i - 1) * sizeof(backed[0]));
			nbacked--;
		}
		return 0;
	}
	if (i < nbacked && backed[i].start == end) {
		backed[i].start = start;
		return 0;
	}
	if (nbacked == MAX_BACKED) {
		errno = ENOMEM;
		return -1;
	}
	memmove(&backed[i + 1], &backed[i], (nbacked - i) * sizeof(backed[0]));
	backed[i].start = start;
	backed[i].end = end;
	nbacked++;
	return 0;
}

static void unback_all(void)
{
	for (unsigned i = 0; i < nbacked; i++)
		munmap((void *)backed[i].start, backed[i].end - backed[i].start);
	nbacked = 0;
}

/* Map `fd` over [start, end) in pieces that never cross a BACKING boundary, so each piece's
 * file offset is its address modulo BACKING. A piece the kernel refuses (the agent's own
 * memory, or an address above user space) is left alone: the map call then meets what is
 * there, and the kernel answers for it (EFAULT for a kernel address). */
static void back_with(int fd, uint64_t start, uint64_t end)
{
	while (start < end) {
		uint64_t stop = (start / BACKING + 1) * BACKING;
		if (stop > end || stop == 0)
			stop = end;
		void *at = mmap((void *)start, stop - start, PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_FIXED_NOREPLACE, fd, (off_t)(start % BACKING));
		if (at == (void *)start) {
			if (remember(start, stop) < 0) {
				munmap(at, stop - start);
				return;
			}
		} else if (at != MAP_FAILED) {
			munmap(at, stop - start); /* an old kernel ignored the hint: not ours to use */
		}
		start = stop;
	}
}

/* The 2 MiB-aligned middle of a gap gets huge pages when the guest has them: faulting in and
 * pinning a gigabyte then costs 512 times fewer page-table entries (seconds under TCG). */
static void back_gap(uint64_t start, uint64_t end)
{
	uint64_t first = (start + HUGE - 1) & ~(HUGE - 1), last = end & ~(HUGE - 1);
	if (hugefd < 0 || first >= last || first < start) {
		back_with(memfd, start, end);
		return;
	}
	back_with(memfd, start, first);
	back_with(hugefd, first, last);
	back_with(memfd, last, end);
}

/* Back [start, end) where nothing is backed yet. */
static void back_range(uint64_t start, uint64_t end)
{
	for (unsigned i = 0; i < nbacked && start < end; i++) {
		if (backed[i].end <= start)
			continue;
		if (backed[i].start >= end)
			break;
		if (backed[i].start > start)
			back_gap(start, backed[i].start);
		start = backed[i].end;
	}
	if (start < end)
		back_gap(start, end);
}

/* Back the pages of [vaddr, vaddr+size): first the whole 2 MiB-aligned stretch around them
 * (so that the next small maps nearby need no mmap, and it can use huge pages), then, where
 * that met something (the agent's own memory), the pages themselves. */
static void back(uint64_t vaddr, uint64_t size)
{
	uint64_t page = 4096, start = vaddr & ~(page - 1), end;
	if (size == 0 || vaddr + size < vaddr)
		return; /* nothing to back, or a wrapping range the kernel rejects by itself */
	end = (vaddr + size + page - 1) & ~(page - 1);
	if (end == 0)
		end = UINT64_MAX & ~(page - 1); /* the range ends in the very last page */
	uint64_t wide_end = (end + HUGE - 1) & ~(HUGE - 1);
	back_range(start & ~(HUGE - 1), wide_end > end ? wide_end : end);
	back_range(start, end);
}

/* -- containers and groups ----------------------------------------------------------------- */

static int op_container(void)
{
	int fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (fd < 0 || track(fd, CONTAINER) < 0)
		return fail("open-container");
	put("ok %x", fd);
	return 0;
}

static int op_group(void)
{
	uint64_t n;
	char path[64];
	struct vfio_group_status status = { .argsz = sizeof(status) };
	if (number(2, &n) < 0)
		return fail("args");
	snprintf(path, sizeof(path), "/dev/vfio/%llu", (unsigned long long)n);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return fail("open-group");
	if (ioctl(fd, VFIO_GROUP_GET_STATUS, &status) < 0) {
		fail("group-status");
		close(fd);
		return -1;
	}
	if (track(fd, GROUP) < 0)
		return fail("open-group");
	put("ok %x %x", fd, status.flags);
	return 0;
}

static int op_set_container(void)
{
	int group, container;
	if (handle_arg(2, GROUP, &group) < 0 || handle_arg(3, CONTAINER, &container) < 0)
		return fail("args");
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) < 0)
		return fail("set-container");
	put("ok");
	return 0;
}

static int op_limit(void)
{
	uint64_t limit;
	char text[32];
	if (number(2, &limit) < 0)
		return fail("args");
	int fd = open(LIMIT_PARAM, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return fail("open-limit");
	int n = snprintf(text, sizeof(text), "%llu\n", (unsigned long long)limit);
	ssize_t w = write(fd, text, (size_t)n);
	int saved = errno;
	close(fd);
	errno = saved;
	if (w != n)
		return fail("write-limit");
	put("ok");
	return 0;
}

static int op_set_iommu(void)
{
	int container;
	uint64_t type;
	if (handle_arg(2, CONTAINER, &container) < 0 || number(3, &type) < 0)
		return fail("args");
	if (ioctl(container, VFIO_SET_IOMMU, (unsigned long)type) < 0)
		return fail("set-iommu");
	put("ok");
	return 0;
}

/* VFIO_IOMMU_GET_INFO: `ok PGSIZES AVAIL NRANGES START END...` (AVAIL ffffffff when the
 * kernel reports no DMA_AVAIL capability). */
static int op_iommu_info(void)
{
	int container;
	uint64_t buf[512];
	struct vfio_iommu_type1_info *info = (void *)buf;
	if (handle_arg(2, CONTAINER, &container) < 0)
		return fail("args");
	memset(buf, 0, sizeof(buf));
	info->argsz = sizeof(buf);
	if (ioctl(container, VFIO_IOMMU_GET_INFO, info) < 0)
		return fail("iommu-info");
	uint32_t avail = 0xffffffff;
	struct vfio_iommu_type1_info_cap_iova_range *ranges = NULL;
	if (info->flags & VFIO_IOMMU_INFO_CAPS) {
		uint32_t off = info->cap_offset;
		while (off && off + sizeof(struct vfio_info_cap_header) <= sizeof(buf)) {
			struct vfio_info_cap_header *cap = (void *)((char *)buf + off);
			if (cap->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE)
				ranges = (void *)cap;
			else if (cap->id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL)
				avail = ((struct vfio_iommu_type1_info_dma_avail *)cap)->avail;
			off = cap->next;
		}
	}
	put("ok %llx %x", (unsigned long long)info->iova_pgsizes, avail);
	if (ranges) {
		put(" %x", ranges->nr_iovas);
		for (uint32_t i = 0; i < ranges->nr_iovas && i < 64; i++)
			put(" %llx %llx", (unsigned long long)ranges->iova_ranges[i].start,
			    (unsigned long long)ranges->iova_ranges[i].end);
	} else {
		put(" 0");
	}
	return 0;
}

/* -- DMA ------------------------------------------------------------------------------------ */

static int op_map(void)
{
	int container;
	uint64_t iova, vaddr, size, flags;
	if (handle_arg(2, CONTAINER, &container) < 0 || number(3, &iova) < 0 ||
	    number(4, &vaddr) < 0 || number(5, &size) < 0 || number(6, &flags) < 0)
		return fail("args");
	back(vaddr, size);
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = (uint32_t)flags,
		.vaddr = vaddr,
		.iova = iova,
		.size = size,
	};
	if (ioctl(container, VFIO_IOMMU_MAP_DMA, &map) < 0)
		return fail("map");
	put("ok");
	return 0;
}

static int op_unmap(void)
{
	int container;
	uint64_t iova, size, flags;
	if (handle_arg(2, CONTAINER, &container) < 0 || number(3, &iova) < 0 ||
	    number(4, &size) < 0 || number(5, &flags) < 0)
		return fail("args");
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.flags = (uint32_t)flags,
		.iova = iova,
		.size = size,
	};
	if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap) < 0)
		return fail("unmap");
	put("ok %llx", (unsigned long long)unmap.size);
	return 0;
}

/* Whether a mapping holds the page at IOVA, asked of the kernel itself: it refuses to map a
 * page of the agent's there with EEXIST exactly when one does (the overlap check comes before
 * the entry limit's ENOSPC and the IOVA range's EINVAL, which both mean "no mapping here").
 * A map that succeeds is undone at once. `ok 1` or `ok 0`. */
static unsigned char probe_page[1 << 16] __attribute__((aligned(1 << 16)));

static int op_probe(void)
{
	int container;
	uint64_t iova, size;
	if (handle_arg(2, CONTAINER, &container) < 0 || number(3, &iova) < 0 ||
	    number(4, &size) < 0 || size == 0 || size > sizeof(probe_page))
		return fail("args");
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ,
		.vaddr = (uint64_t)(uintptr_t)probe_page,
		.iova = iova,
		.size = size,
	};
	if (ioctl(container, VFIO_IOMMU_MAP_DMA, &map) < 0) {
		if (errno == EEXIST)
			put("ok 1");
		else if (errno == ENOSPC || errno == EINVAL)
			put("ok 0");
		else
			return fail("probe-map");
		return 0;
	}
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = iova,
		.size = size,
	};
	if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap) < 0)
		return fail("probe-unmap");
	if (unmap.size != size) {
		errno = EIO; /* the probe's own mapping did not go: the container is not as it was */
		return fail("probe-unmap-short");
	}
	put("ok 0");
	return 0;
}

/* -- devices -------------------------------------------------------------------------------- */

static int op_device(void)
{
	int group;
	if (handle_arg(2, GROUP, &group) < 0 || nargs < 4) {
		errno = EINVAL;
		return fail("args");
	}
	int fd = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, args[3]);
	if (fd < 0)
		return fail("device-fd");
	struct vfio_region_info config = {
		.argsz = sizeof(config),
		.index = VFIO_PCI_CONFIG_REGION_INDEX,
	};
	if (ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, &config) < 0) {
		fail("config-region");
		close(fd);
		return -1;
	}
	if (track(fd, DEVICE) < 0)
		return fail("device-fd");
	handles[fd].cfg_offset = config.offset;
	struct vfio_device_info info = { .argsz = sizeof(info) };
	if (ioctl(fd, VFIO_DEVICE_GET_INFO, &info) < 0)
		return fail("device-info");
	put("ok %x %x %x %x", fd, info.flags, info.num_regions, info.num_irqs);
	return 0;
}

/* `ok SIZE FLAGS`: the region's size and VFIO_REGION_INFO_FLAG_* bits. */
static int op_region(void)
{
	int device;
	uint64_t index;
	if (handle_arg(2, DEVICE, &device) < 0 || number(3, &index) < 0)
		return fail("args");
	struct vfio_region_info info = { .argsz = sizeof(info), .index = (uint32_t)index };
	if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &info) < 0)
		return fail("region-info");
	put("ok %llx %x", (unsigned long long)info.size, info.flags);
	return 0;
}

/* `ok COUNT FLAGS` of one interrupt index (VFIO_PCI_MSIX_IRQ_INDEX = 2). */
static int op_irq_info(void)
{
	int device;
	uint64_t index;
	if (handle_arg(2, DEVICE, &device) < 0 || number(3, &index) < 0)
		return fail("args");
	struct vfio_irq_info info = { .argsz = sizeof(info), .index = (uint32_t)index };
	if (ioctl(device, VFIO_DEVICE_GET_IRQ_INFO, &info) < 0)
		return fail("irq-info");
	put("ok %x %x", info.count, info.flags);
	return 0;
}

static int op_cfg_read(void)
{
	int device;
	uint64_t offset, size, value = 0;
	unsigned char bytes[8];
	if (handle_arg(2, DEVICE, &device) < 0 || number(3, &offset) < 0 ||
	    number(4, &size) < 0 || size == 0 || size > 8) {
		if (errno == 0)
			errno = EINVAL;
		return fail("args");
	}
	ssize_t n = pread(device, bytes, size, (off_t)(handles[device].cfg_offset + offset));
	if (n < 0)
		return fail("cfg-read");
	if ((uint64_t)n != size) {
		errno = EIO;
		return fail("cfg-read-short");
	}
	for (uint64_t i = size; i-- > 0;)
		value = value << 8 | bytes[i]; /* PCI is little-endian */
	put("ok %llx", (unsigned long long)value);
	return 0;
}

static int op_cfg_write(void)
{
	int device;
	uint64_t offset, size, value;
	unsigned char bytes[8];
	if (handle_arg(2, DEVICE, &device) < 0 || number(3, &offset) < 0 ||
	    number(4, &size) < 0 || number(5, &value) < 0 || size == 0 || size > 8) {
		if (errno == 0)
			errno = EINVAL;
		return fail("args");
	}
	for (uint64_t i = 0; i < size; i++)
		bytes[i] = (unsigned char)(value >> (8 * i));
	ssize_t n = pwrite(device, bytes, size, (off_t)(handles[device].cfg_offset + offset));
	if (n < 0)
		return fail("cfg-write");
	if ((uint64_t)n != size) {
		errno = EIO;
		return fail("cfg-write-short");
	}
	put("ok");
	return 0;
}

/* MSI-X on (COUNT vectors) or off (COUNT 0) through VFIO_DEVICE_SET_IRQS. Every vector gets an
 * eventfd of the agent's, but none is routed to the kernel yet (fd -1): `route` connects one,
 * as a VMM does when the guest unmasks the vector. */
static int op_msix(void)
{
	int device;
	uint64_t count;
	if (handle_arg(2, DEVICE, &device) < 0 || number(3, &count) < 0 || count > MAX_VECTORS)
		return fail("args");
	struct handle *h = &handles[device];
	static char buf[sizeof(struct vfio_irq_set) + MAX_VECTORS * sizeof(int)];
	struct vfio_irq_set *set = (void *)buf;
	memset(set, 0, sizeof(*set));
	set->argsz = sizeof(*set);
	set->index = VFIO_PCI_MSIX_IRQ_INDEX;
	set->flags = VFIO_IRQ_SET_ACTION_TRIGGER | VFIO_IRQ_SET_DATA_NONE;
	if (count == 0) {
		if (ioctl(device, VFIO_DEVICE_SET_IRQS, set) < 0)
			return fail("msix-off");
		disable_vectors(h);
		put("ok");
		return 0;
	}
	int *fds = calloc(count, sizeof(int));
	if (!fds)
		return fail("msix-on");
	for (uint64_t i = 0; i < count; i++) {
		fds[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (fds[i] < 0) {
			fail("eventfd");
			while (i-- > 0)
				close(fds[i]);
			free(fds);
			return -1;
		}
	}
	set->argsz = sizeof(*set) + count * sizeof(int);
	set->flags = VFIO_IRQ_SET_ACTION_TRIGGER | VFIO_IRQ_SET_DATA_EVENTFD;
	set->count = (uint32_t)count;
	for (uint64_t i = 0; i < count; i++)
		((int *)set->data)[i] = -1;
	if (ioctl(device, VFIO_DEVICE_SET_IRQS, set) < 0) {
		fail("msix-on");
		for (uint64_t i = 0; i < count; i++)
			close(fds[i]);
		free(fds);
		return -1;
	}
	disable_vectors(h);
	h->vectors = fds;
	h->nvectors = (unsigned)count;
	put("ok");
	return 0;
}

/* Route one vector's interrupts to its eventfd (on) or to nothing (off): VFIO has no mask for
 * MSI-X (VFIO_IRQ_SET_ACTION_MASK fails with ENOTTY), so a VMM masks by unrouting. */
static int op_route(void)
{
	int device;
	uint64_t vector, on;
	if (handle_arg(2, DEVICE, &device) < 0 || number(3, &vector) < 0 || number(4, &on) < 0)
		return fail("args");
	struct handle *h = &handles[device];
	char buf[sizeof(struct vfio_irq_set) + sizeof(int)];
	struct vfio_irq_set *set = (void *)buf;
	int fd = on && vector < h->nvectors ? h->vectors[vector] : -1;
	memset(buf, 0, sizeof(buf));
	set->argsz = sizeof(buf);
	set->flags = VFIO_IRQ_SET_ACTION_TRIGGER | VFIO_IRQ_SET_DATA_EVENTFD;
	set->index = VFIO_PCI_MSIX_IRQ_INDEX;
	set->start = (uint32_t)vector;
	set->count = 1;
	memcpy(set->data, &fd, sizeof(fd));
	if (ioctl(device, VFIO_DEVICE_SET_IRQS, set) < 0)
		return fail("route");
	put("ok");
	return 0;
}

/* A user-space trigger of one MSI-X vector (VFIO_IRQ_SET_DATA_NONE): the kernel signals the
 * vector's eventfd. Answers how many signals the eventfd then held. */
static int op_trigger(void)
{
	int device;
	uint64_t vector, seen = 0;
	if (handle_arg(2, DEVICE, &device) < 0 || number(3, &vector) < 0)
		return fail("args");
	struct vfio_irq_set set = {
		.argsz = sizeof(set),
		.flags = VFIO_IRQ_SET_ACTION_TRIGGER | VFIO_IRQ_SET_DATA_NONE,
		.index = VFIO_PCI_MSIX_IRQ_INDEX,
		.start = (uint32_t)vector,
		.count = 1,
	};
	if (ioctl(device, VFIO_DEVICE_SET_IRQS, &set) < 0)
		return fail("trigger");
	struct handle *h = &handles[device];
	if (vector < h->nvectors && read(h->vectors[vector], &seen, sizeof(seen)) < 0)
		seen = 0; /* EAGAIN: the kernel signalled nothing */
	put("ok %llx", (unsigned long long)seen);
	return 0;
}

/* -- the rest ------------------------------------------------------------------------------- */

static int op_close(void)
{
	uint64_t fd;
	if (number(2, &fd) < 0 || fd >= MAX_FDS || handles[fd].kind == FREE) {
		errno = EBADF;
		return fail("close");
	}
	release((int)fd);
	put("ok");
	return 0;
}

/* Devices first (they hold their group), then groups (they hold the container), then
 * containers (closing the last reference unmaps and unpins everything). The backing memory
 * stays (it is the agent's, not the kernel's, and faulting it in again costs time) unless its
 * table is half full. */
static int op_reset(void)
{
	static const enum kind order[] = { DEVICE, GROUP, CONTAINER };
	for (unsigned k = 0; k < sizeof(order) / sizeof(order[0]); k++)
		for (int fd = 0; fd < MAX_FDS; fd++)
			if (handles[fd].kind == order[k])
				release(fd);
	if (nbacked > MAX_BACKED / 2)
		unback_all(); /* scattered vaddrs filled the table: start over, nothing is pinned */
	put("ok");
	return 0;
}

/* Write WORDS to the kernel log at KERN_WARNING, so that they reach the console: the host
 * marks where each scenario begins, and a kept console then shows which one a fault hit. */
static int op_mark(void)
{
	char text[LINE_MAX_LEN + 32];
	size_t len = (size_t)snprintf(text, sizeof(text), "<4>vfio-agent:");
	for (int i = 2; i < nargs && len < sizeof(text) - 2; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, " %s", args[i]);
	if (len > sizeof(text) - 2)
		len = sizeof(text) - 2;
	text[len++] = '\n';
	int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return fail("open-kmsg");
	ssize_t n = write(fd, text, len);
	int saved = errno;
	close(fd);
	errno = saved;
	if (n < 0)
		return fail("write-kmsg");
	put("ok");
	return 0;
}

static int op_uname(void)
{
	struct utsname u;
	if (uname(&u) < 0)
		return fail("uname");
	put("ok %s", u.release);
	return 0;
}

/* `ok BDF GROUP CLASS...` for every device bound to vfio-pci. */
static int op_devices(void)
{
	DIR *dir = opendir("/sys/bus/pci/drivers/vfio-pci");
	struct dirent *entry;
	if (!dir)
		return fail("devices");
	put("ok");
	while ((entry = readdir(dir)) != NULL) {
		char path[320], link[320], class[32] = "";
		if (strchr(entry->d_name, ':') == NULL)
			continue; /* bind, unbind, new_id, module...: not devices */
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", entry->d_name);
		ssize_t n = readlink(path, link, sizeof(link) - 1);
		if (n < 0)
			continue;
		link[n] = 0;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/class", entry->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t c = read(fd, class, sizeof(class) - 1);
			class[c > 0 ? c : 0] = 0;
			class[strcspn(class, "\n")] = 0;
			close(fd);
		}
		const char *group = strrchr(link, '/');
		put(" %s %s %s", entry->d_name, group ? group + 1 : link, class[0] ? class : "?");
	}
	closedir(dir);
	return 0;
}

static const struct {
	const char *name;
	int (*run)(void);
} ops[] = {
	{ "ping", NULL },
	{ "uname", op_uname },
	{ "mark", op_mark },
	{ "devices", op_devices },
	{ "container", op_container },
	{ "group", op_group },
	{ "set-container", op_set_container },
	{ "limit", op_limit },
	{ "set-iommu", op_set_iommu },
	{ "iommu-info", op_iommu_info },
	{ "map", op_map },
	{ "unmap", op_unmap },
	{ "probe", op_probe },
	{ "device", op_device },
	{ "region", op_region },
	{ "irq-info", op_irq_info },
	{ "cfg-read", op_cfg_read },
	{ "cfg-write", op_cfg_write },
	{ "msix", op_msix },
	{ "trigger", op_trigger },
	{ "route", op_route },
	{ "close", op_close },
	{ "reset", op_reset },
};

static void serve(char *line)
{
	nargs = 0;
	for (char *tok = strtok(line, " \r"); tok && nargs < 32; tok = strtok(NULL, " \r"))
		args[nargs++] = tok;
	/* A line without a numeric id is noise: drop it. */
	if (nargs < 2 || strspn(args[0], "0123456789") != strlen(args[0]))
		return;
	outlen = 0;
	put("%s ", args[0]);
	payload = outlen;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (strcmp(args[1], ops[i].name) == 0) {
			if (ops[i].run == NULL)
				put("ok");
			else
				ops[i].run(); /* the answer is in `out`, an error included */
			flush_answer();
			return;
		}
	}
	put("err %d unknown-op", ENOSYS);
	flush_answer();
}

/* The virtio-serial port called NAME: /sys/class/virtio-ports/vportNpM/name holds each port's
 * name, and devtmpfs has the node /dev/vportNpM. */
static void open_port(const char *name)
{
	DIR *dir = opendir("/sys/class/virtio-ports");
	struct dirent *entry;
	char path[300], found[64];
	while (dir && (entry = readdir(dir)) != NULL) {
		if (entry->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name", entry->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, found, sizeof(found) - 1);
		close(fd);
		found[n > 0 ? n : 0] = 0;
		found[strcspn(found, "\n")] = 0;
		if (strcmp(found, name) == 0) {
			snprintf(path, sizeof(path), "/dev/%s", entry->d_name);
			port = open(path, O_RDWR | O_CLOEXEC);
			if (port < 0) {
				perror(path);
				exit(1);
			}
			closedir(dir);
			return;
		}
	}
	fprintf(stderr, "vfio-agent: no virtio-serial port named %s\n", name);
	exit(1);
}

int main(int argc, char **argv)
{
	open_port(argc > 1 ? argv[1] : "vfio.agent");
	memfd = (int)syscall(SYS_memfd_create, "vfio-agent-backing", 1U /* MFD_CLOEXEC */);
	if (memfd < 0 || ftruncate(memfd, (off_t)BACKING) < 0) {
		perror("memfd");
		return 1;
	}
	hugefd = (int)syscall(SYS_memfd_create, "vfio-agent-huge", 1U | 4U /* MFD_HUGETLB */);
	if (hugefd >= 0 && ftruncate(hugefd, (off_t)BACKING) < 0) {
		close(hugefd);
		hugefd = -1;
	}
	/* Allocate the backing now, before the host snapshots the guest: a restored guest then
	 * only fills page tables when a scenario maps memory. */
	fallocate(memfd, 0, 0, (off_t)BACKING);
	if (hugefd >= 0 && fallocate(hugefd, 0, 0, (off_t)BACKING) < 0) {
		close(hugefd);
		hugefd = -1; /* fewer huge pages than BACKING needs: small pages only */
	}
	char line[LINE_MAX_LEN], chunk[LINE_MAX_LEN];
	size_t len = 0;
	for (;;) {
		ssize_t n = read(port, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			usleep(10000); /* no host connected: the port reads nothing, wait for one */
			continue;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (chunk[i] == '\n') {
				line[len] = 0;
				serve(line);
				len = 0;
			} else if (len < sizeof(line) - 1) {
				line[len++] = chunk[i];
			} else {
				len = 0; /* an overlong line is noise: drop it */
			}
		}
	}
}
