import { api } from "/static/js/api.js";

const logout = document.getElementById("logout");
if (logout) {
  logout.addEventListener("click", async () => {
    await api("/api/auth/logout", { method: "POST" });
    window.location.assign("/");
  });
}
