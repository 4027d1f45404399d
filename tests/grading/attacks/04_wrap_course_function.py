# Attack: wrap the course's function in a def of one's own.
import sslcourse.methods.simclr as course


def nt_xent_loss(z1, z2, temperature=0.5):
    return course.nt_xent_loss(z1, z2, temperature)
