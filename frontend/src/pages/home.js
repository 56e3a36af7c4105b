import { navigate } from "../router.js";

export function render() {
  navigate("/dashboard", { replace: true });
}
