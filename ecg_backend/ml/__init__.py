"""Machine-learning core: the hybrid CNN+LSTM autoencoder, its data, training, calibration and detector."""
