# Attack: import the answers from the course package.
from sslcourse.pretext import masked_mse, random_block_mask, random_patch_mask
