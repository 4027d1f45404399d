# Attack: import the answers from the course package.
from sslcourse.pretext import make_permutation_set, shuffle_tiles
