"""Plain clustering algorithms, used among others to initialise cluster centres."""

from skdec.cluster._spherical_kmeans import SphericalKMeans, spherical_kmeans

__all__ = ["SphericalKMeans", "spherical_kmeans"]
