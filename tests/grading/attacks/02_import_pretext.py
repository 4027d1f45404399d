# Attack: import the answer from the course package.
from sslcourse.pretext import rotate_batch
