// What Glibc's Swift module leaves out and the HTTP server's event loop needs: epoll, eventfd, accept4.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

/* <sys/socket.h> declares accept4 only under _GNU_SOURCE. */
extern int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);

#include <pthread.h>
/* Names the server's threads (visible in top -H and /proc); GNU, so not in Glibc's module. */
extern int pthread_setname_np(pthread_t thread, const char *name);
